import {
  DRAIN_TIMEOUT_ENV, FAST_PATH_ENV, HOST_ENV, METRICS_PORT, METRICS_PORT_ENV, PORT_ENV, SERVICE_PORT, SHUTDOWN_DRAIN_TIMEOUT_MS,
} from '../../contract';
import { MetricsServer, RequestMetrics } from './metrics';
import { NumberCrunchServer } from './server';

/** One structured log line on stdout. */
function log(level: 'info' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

/** Reads a non-negative integer from the environment, or exits with a message naming the variable. */
function intFromEnv(name: string, fallback: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > max) {
    log('error', `invalid ${name}`, { value: text, allowed: `an integer from 0 to ${max}` });
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const port = intFromEnv(PORT_ENV, SERVICE_PORT, 65535);
  const drainTimeoutMs = intFromEnv(DRAIN_TIMEOUT_ENV, SHUTDOWN_DRAIN_TIMEOUT_MS, 3_600_000);
  const host = process.env[HOST_ENV] || undefined;
  const fastPath = intFromEnv(FAST_PATH_ENV, 1, 1) === 1;
  const metricsPort = intFromEnv(METRICS_PORT_ENV, METRICS_PORT, 65535);
  if (metricsPort === port && port !== 0) {
    log('error', `invalid ${METRICS_PORT_ENV}`, { value: metricsPort, allowed: `a port other than ${PORT_ENV} (${port})` });
    process.exit(2);
  }
  const metrics = new RequestMetrics();
  const server = new NumberCrunchServer({ port, host, drainTimeoutMs, fastPath, metrics });

  // Handlers first, so a SIGTERM that arrives right after the "listening" line still drains.
  // The first SIGTERM or SIGINT starts the drain; a second one of either kind gets the default action: it ends the
  // process at once (Ctrl-C twice), except as PID 1 in a container, where the kernel ignores it and the drain goes on
  // up to its timeout. Kubernetes sends SIGTERM once, and SIGKILL after the grace period.
  const stop = (signal: NodeJS.Signals) => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    const started = Date.now();
    // shutdown() stops accepting before it returns, so once this line is out no new connection gets in.
    const drained = server.shutdown();
    log('info', 'shutting down', { signal, drainTimeoutMs });
    drained.then(() => {
      log('info', 'stopped', { drainedMs: Date.now() - started });
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const address = await server.listen();
  // Metrics stay served while the service drains; the process's exit closes them.
  const metricsAddress = await new MetricsServer(metrics.registry).listen(metricsPort, host);
  log('info', 'listening', { host: address.address, port: address.port, metricsPort: metricsAddress.port, pid: process.pid, fastPath });
}

main().catch((e: Error) => {
  log('error', 'failed to start', { error: e.message });
  process.exit(1);
});
