// The service as `npm run bench:service`'s metrics-cost section runs it: the compiled server (build/, the files the
// image runs) set up as src/main.ts sets it up, with its RequestMetrics and metrics listener (METRICS_COST_VARIANT=on)
// or without any (off), so the two differ in nothing else. HTTP_FAST_PATH=0 turns the fast path off, as in main.ts.
// Bench-only: the image's entry point keeps its metrics always on. Prints main.ts's `listening` line on stdout.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { FAST_PATH_ENV } from '../../contract';
import type * as MetricsModule from '../src/metrics';
import type * as ServerModule from '../src/server';

/** The variable that picks the variant, `on` or `off`. */
export const VARIANT_ENV = 'METRICS_COST_VARIANT';

const BUILD = join(__dirname, '..', 'build', 'number-crunch', 'src');

async function main(): Promise<void> {
  const variant = process.env[VARIANT_ENV];
  if (variant !== 'on' && variant !== 'off') {
    throw new Error(`${VARIANT_ENV} is ${JSON.stringify(variant)}: set it to on (metrics kept) or off (no RequestMetrics)`);
  }
  // The compiled modules, not the sources: the code measured is the code shipped, for both variants alike.
  const load = createRequire(__filename);
  const { NumberCrunchServer } = load(join(BUILD, 'server.js')) as typeof ServerModule;
  const { MetricsServer, RequestMetrics } = load(join(BUILD, 'metrics.js')) as typeof MetricsModule;
  const metrics = variant === 'on' ? new RequestMetrics() : undefined;
  const fastPath = process.env[FAST_PATH_ENV] !== '0';
  const server = new NumberCrunchServer({ port: 0, host: '127.0.0.1', drainTimeoutMs: 1_000, fastPath, metrics });
  process.once('SIGTERM', () => void server.shutdown().then(() => process.exit(0)));
  const { port } = await server.listen();
  const metricsPort = metrics === undefined ? undefined : (await new MetricsServer(metrics.registry).listen(0, '127.0.0.1')).port;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port, metricsPort, variant, fastPath })}\n`);
}

/** This file, for startService: run it, do not import it for its side effects. */
export const METRICS_COST_SERVICE = __filename;

if (require.main === module) {
  main().catch((e: Error) => {
    process.stdout.write(`${JSON.stringify({ msg: 'failed to start', error: e.message })}\n`);
    process.exit(1);
  });
}
