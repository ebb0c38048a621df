// `npm run bench`: the service against its Go reference, the request path and the build, measured side by side in one
// run.
//
// First the service alone on loopback against the Go reference (bench/go-reference), one core each, on the image's
// Node and on this machine's (number-crunch/bench/go-comparison.ts): throughput, CPU time per request, latency at a
// fixed rate and the ratios to Go. Then the request path:
// Uses the end-to-end harness (e2e/): the real service and nginx (Debian unstable's, the pinned image's line) running
// the chart's default nginx.conf with the per-client limits off (a benchmark is one client), in network namespaces
// standing in for pods, and drives each with wrk for a bounded time: the service direct, through the synthesized
// proxy, through the tutorial's proxy config, and over HTTPS through nginx with the chart's TLS config (`proxy.tls`,
// running beside it, its Secret a test certificate made by openssl: see TLS_CERTIFICATE_KEY). Prints requests/s,
// p50/p99 latency, the ratios, peak RSS of the service and of nginx, the wall time of `cdk8s synth` and of `npm test`,
// and PASS/FAIL against the targets. Then direct and proxied again at one fixed rate (half the slowest capacity), for
// the proxy's added CPU time per request (nginx's, from /proc) and its added p50/p99 latency. Then the cost of TLS, in
// nginx's CPU time per request: HTTPS at the same fixed rate over keep-alive connections, then plain and HTTPS with a
// new connection per request (over TLS a full handshake, never resumed) at a lower fixed rate; the keep-alive ratio
// against its target and the handshake's cost (bench/tls-cost.ts). Any non-2xx response or socket error fails the
// run. Settings: BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_THREADS (2); BENCH_SKIP_TEST=1 skips timing
// `npm test`; BENCH_NO_FAIL=1 exits 0 on a missed target.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eUnavailableReason, NetnsStack } from '../e2e/netns-stack';
import { Testing } from 'cdk8s';
import { proxyStackSpec } from '../e2e/stack-spec';
import { NumberCrunchChart } from '../lib';
import { CertificateKey, makeCertificate, TLS_HOST, tlsStack, tlsUnavailableReason } from '../e2e/tls';
import { K8sObject } from '../validation/manifests';
import { SERVICE_MAIN } from '../number-crunch/test/service-process';
import { assertClean, loadSettings, runWrk, WrkResult } from '../number-crunch/bench/wrk';
import { assertFixedRateClean, assertNewConnectionPerRequest, FixedRateOptions, fixedRateFor, runFixedRate } from '../number-crunch/bench/fixed-rate';
import { benchTools, compareWithGo, formatComparison, ratioToGo } from '../number-crunch/bench/go-comparison';
import { cpuUsPerRequest, loadAverage, withCpu } from '../number-crunch/bench/proc';
import { formatTlsReport, keepAliveCheck, tlsCost, TlsRun } from './tls-cost';

const ROOT = join(__dirname, '..');
const WARMUP_SECONDS = 2;
/** The tutorial config's port: clear of the default config's (8080, and its stub status on 127.0.0.1:8081). */
const TUTORIAL_PORT_OFFSET = 10;
/** The TLS config's plain port and stub status port, beside the others (its HTTPS port is the chart's, 8443). */
const TLS_PLAIN_PORT_OFFSET = 11;
const TLS_STUB_STATUS_PORT_OFFSET = 12;
/**
 * The test certificate's key: RSA 2048, what the chart's cert-manager Certificate gets (it sets no privateKey, and
 * cert-manager then makes an RSA 2048 key). Public CAs issue both RSA 2048 and ECDSA P-256 (Let's Encrypt signs the key
 * the ACME client sends: certbot's default is ECDSA P-256 since 2.0); RSA is the costlier for the server (an RSA
 * signature per full handshake), so the handshake figure is the upper of the two.
 */
const TLS_CERTIFICATE_KEY: CertificateKey = 'rsa-2048';
/** Requests per second with a new connection each: a full handshake costs nginx about 20 keep-alive requests' CPU. */
const NEW_CONNECTION_RATE = 500;
const TARGETS = { proxiedVsDirect: 0.8, proxiedVsTutorial: 2.5, proxiedP99Ms: 5, synthSeconds: 1, testSeconds: 60, perCpuVsGo: 1 };

/** Peak resident set size of a process (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kib) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(kib[1]) / 1024;
}

function wallSeconds(run: () => void): number {
  const started = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measureRequestPath() {
  const settings = loadSettings();
  // The chart's defaults with the per-client limits off: a benchmark is one client sending as fast as it can, which
  // the limits answer with 429 (docs/public-internet.md). Everything else is dist/'s configuration.
  const proxy = { clientLimits: { enabled: false } };
  const spec = proxyStackSpec(Testing.synth(new NumberCrunchChart(Testing.app(), 'number-crunch', { proxy })) as K8sObject[]);
  // The same with TLS on, its ports moved beside the others; its Secret a certificate made here.
  const tls = tlsStack({ ...proxy, port: spec.proxyPort + TLS_PLAIN_PORT_OFFSET, stubStatusPort: spec.proxyPort + TLS_STUB_STATUS_PORT_OFFSET });
  const certificateDir = mkdtempSync(join(tmpdir(), 'nc-bench-tls-'));
  makeCertificate(certificateDir, TLS_CERTIFICATE_KEY);
  const stack = await NetnsStack.start({ spec, serviceMain: SERVICE_MAIN });
  try {
    const tutorialPort = spec.proxyPort + TUTORIAL_PORT_OFFSET;
    const tutorialConf = readFileSync(join(__dirname, 'tutorial-nginx.conf'), 'utf8')
      .replace(/__RUNTIME_DIR__/g, spec.emptyDirPaths[0])
      .replace(/__PORT__/g, String(tutorialPort))
      .replace(/__UPSTREAM__/g, `${spec.upstreamHost}:${spec.upstreamPort}`);
    await stack.startNginx(tutorialConf, tutorialPort);
    const tlsInstance = await stack.startNginx(tls.spec.nginxConf, tls.spec.proxyPort, [], [{ source: certificateDir, target: tls.secretMountPath }]);
    const path = '/square-root/4';
    const httpsUrl = `https://${stack.proxyIp}:${tls.tlsPort}${path}`;
    const targets: Array<[string, string]> = [
      ['service direct', stack.directUrl(path)],
      ['through the synthesized proxy', stack.proxyUrl(path)],
      ["through the tutorial's proxy config", stack.proxyUrl(path, tutorialPort)],
      ['through the synthesized proxy over HTTPS', httpsUrl],
    ];
    console.log(`wrk: ${settings.threads} threads, ${settings.connections} connections, ${settings.durationSeconds} s per target after ${WARMUP_SECONDS} s of warm-up, GET ${path}`);
    const results: WrkResult[] = [];
    for (const [label, url] of targets) {
      assertClean(`${label} (warm-up)`, await runWrk({ url, ...settings, durationSeconds: WARMUP_SECONDS }));
      const r = await runWrk({ url, ...settings });
      assertClean(label, r);
      results.push(r);
    }
    const memory = {
      serviceMiB: peakRssMiB(stack.servicePid!),
      nginxMiB: stack.nginxPids(0).reduce((sum, pid) => sum + peakRssMiB(pid), 0),
      nginxProcesses: stack.nginxPids(0).length,
    };
    // At fixed rates: the service's and an nginx's CPU time per request, from /proc.
    const binary = benchTools().fixedRate;
    const rate = fixedRateFor([results[0].requestsPerSecond, results[1].requestsPerSecond, results[3].requestsPerSecond]);
    const measure = async (label: string, nginxInstance: number, o: Omit<FixedRateOptions, 'binary' | 'durationSeconds' | 'connections'>) => {
      const run = { binary, durationSeconds: settings.durationSeconds, connections: settings.connections, ...o };
      let nginxCpu = 0;
      const { result, cpuSeconds } = await withCpu([stack.servicePid!], async () => {
        const measured = await withCpu(stack.nginxPids(nginxInstance), () => runFixedRate(run));
        nginxCpu = measured.cpuSeconds;
        return measured.result;
      });
      assertFixedRateClean(`${label} at ${o.rate} req/s`, result, o.rate * settings.durationSeconds);
      if (o.newConnectionPerRequest) assertNewConnectionPerRequest(`${label} at ${o.rate} req/s`, result);
      return { label, result, serviceUs: cpuUsPerRequest(cpuSeconds, result.requests), nginxUs: cpuUsPerRequest(nginxCpu, result.requests) };
    };
    // Direct and through the synthesized proxy at one fixed rate: what the proxy adds per request.
    const direct = await measure('service direct', 0, { url: targets[0][1], rate });
    const proxied = await measure('plain HTTP, keep-alive', 0, { url: targets[1][1], rate });
    // TLS: over keep-alive at the same rate (like for like with `proxied`), then a new connection per request.
    const https = { caFile: join(certificateDir, 'ca.crt'), serverName: TLS_HOST };
    const tlsRuns = [
      proxied,
      await measure('HTTPS, keep-alive', tlsInstance, { url: httpsUrl, rate, tls: https }),
      await measure('plain HTTP, new connection per request', 0, { url: targets[1][1], rate: NEW_CONNECTION_RATE, newConnectionPerRequest: true }),
      await measure('HTTPS, new connection per request (full handshake)', tlsInstance,
        { url: httpsUrl, rate: NEW_CONNECTION_RATE, tls: https, newConnectionPerRequest: true }),
    ];
    return {
      labels: targets.map(([label]) => label), results, memory, fixed: { rate, direct, proxied },
      tls: { runs: tlsRuns, negotiated: tlsRuns[3].result.tls! },
    };
  } finally {
    await stack.stop();
    rmSync(certificateDir, { recursive: true, force: true });
  }
}

function measureSynth(): number {
  const runs = [1, 2, 3].map(() => {
    const out = mkdtempSync(join(tmpdir(), 'nc-bench-synth-'));
    try {
      return wallSeconds(() => execFileSync(join(ROOT, 'node_modules', '.bin', 'cdk8s'),
        ['synth', '--no-check-upgrade', '--output', out], { cwd: ROOT, stdio: 'pipe' }));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
  return median(runs);
}

function measureTests(): number | undefined {
  if (process.env.BENCH_SKIP_TEST === '1') return undefined;
  return wallSeconds(() => execFileSync('npm', ['test', '--silent'], { cwd: ROOT, stdio: 'pipe' }));
}

async function main(): Promise<void> {
  const unavailable = e2eUnavailableReason();
  if (unavailable) throw new Error(`the benchmark needs the end-to-end harness: ${unavailable}`);
  const tlsUnavailable = tlsUnavailableReason();
  if (tlsUnavailable) throw new Error(`the benchmark's TLS part cannot run: ${tlsUnavailable}`);
  console.log(`before: ${loadAverage()}`);
  const settings = loadSettings();
  console.log('The service against the Go reference on loopback, one core each:');
  const comparison = await compareWithGo({ ...settings, paths: ['/square-root/4', '/cube-root/-8'] });
  console.log(['', ...formatComparison(comparison), ''].join('\n'));
  const { labels, results, memory, fixed, tls } = await measureRequestPath();
  const synthSeconds = measureSynth();
  const testSeconds = measureTests();

  const [direct, proxied, tutorial] = results;
  const rows = labels.map((label, i) => `| ${label} | ${results[i].requestsPerSecond.toFixed(0)} | ${results[i].p50Ms.toFixed(2)} | ${results[i].p99Ms.toFixed(2)} |`);
  console.log(['', '| target | req/s | p50 ms | p99 ms |', '| --- | ---: | ---: | ---: |', ...rows].join('\n'));
  const f = fixed;
  console.log(['', `| at a fixed ${f.rate} req/s | p50 ms | p99 ms | service CPU-us per request | nginx CPU-us per request |`, '| --- | ---: | ---: | ---: | ---: |',
    `| service direct | ${f.direct.result.p50Ms.toFixed(2)} | ${f.direct.result.p99Ms.toFixed(2)} | ${f.direct.serviceUs.toFixed(2)} | - |`,
    `| through the synthesized proxy | ${f.proxied.result.p50Ms.toFixed(2)} | ${f.proxied.result.p99Ms.toFixed(2)} | ${f.proxied.serviceUs.toFixed(2)} | ${f.proxied.nginxUs.toFixed(2)} |`,
    `| the proxy adds | ${(f.proxied.result.p50Ms - f.direct.result.p50Ms).toFixed(2)} | ${(f.proxied.result.p99Ms - f.direct.result.p99Ms).toFixed(2)} | ${(f.proxied.serviceUs - f.direct.serviceUs).toFixed(2)} | ${f.proxied.nginxUs.toFixed(2)} |`,
  ].join('\n'));
  const [plainKeepAlive, httpsKeepAlive, plainNewConnection, httpsNewConnection] = tls.runs.map((r) => r.nginxUs);
  const tlsCosts = tlsCost({ plainKeepAlive, httpsKeepAlive, plainNewConnection, httpsNewConnection });
  const n = tls.negotiated;
  const tlsRuns: TlsRun[] = tls.runs.map(({ label, result, nginxUs }) => ({ label, rate: result.rate, p50Ms: result.p50Ms, p99Ms: result.p99Ms, nginxUs }));
  console.log(['', ...formatTlsReport(tlsRuns, tlsCosts, [n.version, n.cipher, n.group || 'group unknown', `${n.certificateKey} certificate`].join(', '))].join('\n'));
  const ours = comparison.targets.filter((t) => t.label.startsWith('ours on'));
  const worstVsGo = Math.min(...ours.filter((t) => !t.label.includes('HTTP_FAST_PATH=0'))
    .flatMap((t) => t.saturation.map((_, i) => ratioToGo(comparison, t, i))));

  const checks: Array<[string, string, boolean]> = [
    ['requests per CPU-second, ours / Go (worst of both Nodes and both endpoints)', `${worstVsGo.toFixed(2)}x (target >= ${TARGETS.perCpuVsGo}x)`, worstVsGo >= TARGETS.perCpuVsGo],
    ['proxied / direct', `${(proxied.requestsPerSecond / direct.requestsPerSecond).toFixed(2)}x (target >= ${TARGETS.proxiedVsDirect}x)`, proxied.requestsPerSecond >= TARGETS.proxiedVsDirect * direct.requestsPerSecond],
    ['proxied / tutorial', `${(proxied.requestsPerSecond / tutorial.requestsPerSecond).toFixed(2)}x (target >= ${TARGETS.proxiedVsTutorial}x)`, proxied.requestsPerSecond >= TARGETS.proxiedVsTutorial * tutorial.requestsPerSecond],
    keepAliveCheck(tlsCosts),
    ['proxied p99', `${proxied.p99Ms.toFixed(2)} ms (target < ${TARGETS.proxiedP99Ms} ms)`, proxied.p99Ms < TARGETS.proxiedP99Ms],
    ['cdk8s synth', `${synthSeconds.toFixed(2)} s, median of 3 (target < ${TARGETS.synthSeconds} s)`, synthSeconds < TARGETS.synthSeconds],
    ...(testSeconds === undefined ? [] : [['npm test', `${testSeconds.toFixed(1)} s (target < ${TARGETS.testSeconds} s)`, testSeconds < TARGETS.testSeconds] as [string, string, boolean]]),
  ];
  console.log(['', '| check | figure | result |', '| --- | --- | --- |', ...checks.map(([what, figure, ok]) => `| ${what} | ${figure} | ${ok ? 'PASS' : 'FAIL'} |`)].join('\n'));
  console.log(`\npeak RSS under load: service ${memory.serviceMiB.toFixed(1)} MiB; nginx ${memory.nginxMiB.toFixed(1)} MiB (${memory.nginxProcesses} processes)`);
  console.log(`after: ${loadAverage()}`);

  const failed = checks.filter(([, , ok]) => !ok);
  if (failed.length > 0) {
    console.error(`\nmissed: ${failed.map(([what]) => what).join(', ')}`);
    if (process.env.BENCH_NO_FAIL !== '1') process.exitCode = 1;
  }
}

// Ctrl-C or a kill: exit through process.exit, so the harness's exit hook removes its namespaces and processes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((e: Error) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
