// The service alone under load: starts the compiled service on a free loopback port, drives it with wrk for a
// bounded time and prints requests/s and p50/p99 latency. `npm run bench:service` builds the service first.
import { startService } from '../test/service-process';
import { assertClean, loadSettings, runWrk } from './wrk';

async function main(): Promise<void> {
  const settings = loadSettings();
  const service = await startService();
  try {
    const url = `http://127.0.0.1:${service.port}/square-root/4`;
    console.log(`wrk ${settings.threads} threads, ${settings.connections} connections, ${settings.durationSeconds} s: ${url}`);
    const r = await runWrk({ url, ...settings });
    assertClean('service direct', r);
    console.log(`service direct: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (${r.requests} requests, no errors)`);
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
