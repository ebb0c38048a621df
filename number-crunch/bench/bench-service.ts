// `npm run bench:service`: the service against the Go reference on loopback, one core each (see go-comparison.ts):
// throughput at saturation, latency at a fixed rate, CPU time per request and the ratios to Go, on the image's Node
// and on this machine's. Settings: BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_THREADS (2).
import { compareWithGo, formatComparison } from './go-comparison';
import { loadAverage } from './proc';
import { loadSettings } from './wrk';

async function main(): Promise<void> {
  const settings = loadSettings();
  console.log(`before: ${loadAverage()}`);
  const comparison = await compareWithGo({ ...settings, paths: ['/square-root/4', '/cube-root/-8'] });
  console.log(['', ...formatComparison(comparison)].join('\n'));
  console.log(`\nservices on CPU ${comparison.serverCpu}, wrk (${settings.threads} threads) and the fixed-rate generator on CPU ${comparison.loadCpu}; ${settings.durationSeconds} s per run; after: ${loadAverage()}`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
