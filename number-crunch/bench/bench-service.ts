// `npm run bench:service`: the service against the Go reference on loopback, one core each (see go-comparison.ts):
// throughput at saturation, latency at a fixed rate, CPU time per request and the ratios to Go, on the image's Node
// and on this machine's. Then what the metrics cost (see metrics-cost.ts): CPU time per request with them on and off,
// PASS/FAIL against the bound of at most +10%. Settings: BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_THREADS
// (2), BENCH_METRICS_ROUNDS (7); BENCH_NO_FAIL=1 exits 0 on a missed bound.
import { compareWithGo, formatComparison } from './go-comparison';
import { formatMetricsCost, measureMetricsCost, METRICS_COST_BOUND, metricsCostSettings, withinBound } from './metrics-cost';
import { loadAverage } from './proc';
import { loadSettings } from './wrk';

const PATHS = ['/square-root/4', '/cube-root/-8'];

async function main(): Promise<void> {
  const settings = loadSettings();
  const costSettings = metricsCostSettings(settings.durationSeconds);
  console.log(`before: ${loadAverage()}`);
  const comparison = await compareWithGo({ ...settings, paths: PATHS });
  console.log(['', ...formatComparison(comparison)].join('\n'));
  console.log(`\nservices on CPU ${comparison.serverCpu}, wrk (${settings.threads} threads) and the fixed-rate generator on CPU ${comparison.loadCpu}; ${settings.durationSeconds} s per run; after: ${loadAverage()}`);

  console.log(`\nWhat the metrics cost: the same server with and without them, ${costSettings.rounds} rounds (a fresh pair of processes each) of ${costSettings.runSeconds} s runs:`);
  const cost = await measureMetricsCost({ ...settings, ...costSettings, paths: PATHS });
  console.log(['', ...formatMetricsCost(cost)].join('\n'));
  console.log(`\nthe variants with metrics counted ${cost.counted.histogram} requests in their histogram, of ${cost.counted.answered} answered; after: ${loadAverage()}`);
  const over = cost.scenarios.filter((s) => !withinBound(s.cost.ratio));
  if (over.length > 0) {
    console.error(`\nmissed: the metrics add more than ${METRICS_COST_BOUND * 100}% CPU per request in: ${over.map((s) => s.label).join('; ')}`);
    if (process.env.BENCH_NO_FAIL !== '1') process.exitCode = 1;
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
