/**
 * HTTPS at the edge on the real cluster (`npm run test:cluster`), from the client network namespace on the load
 * balancer's LAN: the chart with `proxy.tls`, its certificate in a `kubernetes.io/tls` Secret made here with openssl
 * and kubectl. HTTPS answers over TLS 1.3 and HTTP/2 with HSTS; a TLS 1.1 handshake is refused; plain HTTP answers a
 * 308 to the HTTPS URL, without HSTS, its health path excepted; and the Secret replaced under an HTTPS load: every
 * proxy pod serves the new certificate without a restart and without a failed request.
 * Without a running cluster these tests are skipped, except under CI=true where they fail.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { makeCertificate, reissueCertificate, TLS_HOST } from '../../e2e/tls';
import { NumberCrunchChart } from '../../lib';
import { K8sObject } from '../../validation/manifests';
import { ANSWER_4, Cluster, describeCluster, describeLoad, List, Pod, readClusterEnv, restartsOf, run, sleep, waitFor } from './cluster-env';

const { env, missing } = readClusterEnv();

// External contracts and harness facts, written literally (not imported from the code under test).
const NS = 'edge';
const LB_IP = '10.97.0.212';
const HTTPS_PORT = 443;
const HTTP_PORT = 80;
const SECRET = 'edge-tls';
const PROXY = 'number-crunch-proxy';
const PROXY_SELECTOR = 'app.kubernetes.io/instance=number-crunch,app.kubernetes.io/name=number-crunch-proxy';
const HEALTH_PATH = '/nginx-health';
const HSTS_A_YEAR = 'max-age=31536000';
const RELOADER = 'tls-reloader';
const RATE = 100;
// The kubelet writes a changed Secret into a pod's volume at the pod's next sync: every `syncFrequency` (1 min by
// default) with up to half of it added as jitter. Then the reloader looks every 5 s (its default).
const KUBELET_SYNC_BOUND_S = 90;
const RELOADER_CHECK_S = 5;
// From the reloader's SIGHUP to the new certificate seen by this test's once-a-second look at each pod.
const SIGNAL_TO_SERVED_BOUND_S = 5;


describeCluster('HTTPS at the edge (chart with proxy.tls in namespace edge)', () => {
  jest.setTimeout(400_000);
  let cluster: Cluster;
  let namespacesBefore: string[] = [];
  let dir = '';
  let caFile = '';

  /** Runs a command in the client network namespace. */
  const fromClient = (cmd: string, args: string[], timeoutMs = 15_000) => run('ip', ['netns', 'exec', env!.CLIENT_NETNS, cmd, ...args], { timeoutMs, input: '' });

  /** A request from the client with the test's CA, the TLS name resolved to the load balancer on both ports. */
  const curl = (url: string) => cluster.curlFromClient(url, ['--cacert', caFile,
    '--resolve', `${TLS_HOST}:${HTTPS_PORT}:${LB_IP}`, '--resolve', `${TLS_HOST}:${HTTP_PORT}:${LB_IP}`]);

  /** A TLS handshake from the client with openssl s_client and `args`: its exit status and what it printed. */
  function handshake(args: string[]): { status: number | null; output: string } {
    const r = fromClient('openssl', ['s_client', '-connect', `${LB_IP}:${HTTPS_PORT}`, '-servername', TLS_HOST,
      '-CAfile', caFile, '-brief', ...args]);
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  /** The SHA-256 fingerprint of the certificate `address` (ip:port) serves, seen from the node; '' if none. */
  function servedFingerprint(address: string): string {
    const r = run('bash', ['-c', `openssl s_client -connect ${address} -servername ${TLS_HOST} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`], { timeoutMs: 10_000 });
    return r.status === 0 ? r.stdout.trim() : '';
  }
  const fingerprintOf = (certFile: string) => run('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']).stdout.trim();

  beforeAll(() => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
    namespacesBefore = cluster.namespaces();
    dir = mkdtempSync(join(tmpdir(), 'nc-edge-'));
    makeCertificate(dir);
    caFile = join(dir, 'ca.crt');
    cluster.kubectlOk(['create', 'namespace', NS]);
    cluster.kubectlOk(['create', 'secret', 'tls', SECRET, '-n', NS, '--cert', join(dir, 'tls.crt'), '--key', join(dir, 'tls.key')]);
    const chart = new NumberCrunchChart(Testing.app(), NS, { namespace: NS, loadBalancer: { loadBalancerIP: LB_IP }, proxy: { tls: { secretName: SECRET } } });
    cluster.applyObjects(Testing.synth(chart) as K8sObject[]);
    cluster.rolledOut(NS, ['number-crunch', PROXY]);
  });

  afterAll(() => {
    cluster?.deleteNamespacesSince(namespacesBefore);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('HTTPS through the load balancer: the answer over HTTP/2, with HSTS for a year', async () => {
    const url = `https://${TLS_HOST}/square-root/4`;
    await waitFor(`an HTTPS answer from ${url}`, 30, 1000, () => (curl(url).status === 200 ? true : undefined));
    const r = curl(url);
    expect({ version: r.version, status: r.status }).toEqual({ version: '2', status: 200 });
    expect([ANSWER_4, `${ANSWER_4}\n`]).toContain(r.body);
    expect(r.headers['strict-transport-security']).toBe(HSTS_A_YEAR);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  test('TLS 1.3 by default, TLS 1.2 accepted, a TLS 1.1 handshake refused by the server', () => {
    const tls13 = handshake([]);
    expect(tls13.output).toMatch(/Protocol version: TLSv1\.3/);
    expect(tls13.output).toMatch(/Verification: OK/);
    expect(handshake(['-tls1_2']).output).toMatch(/Protocol version: TLSv1\.2/);
    // The client offers TLS 1.1 only (security level 0 lets OpenSSL 3 offer it); the server answers with an alert.
    const tls11 = handshake(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    expect(tls11.status).not.toBe(0);
    expect(tls11.output).toMatch(/alert protocol version/);
  });

  test('plain HTTP on port 80: a 308 to the same URL over HTTPS, without HSTS; the health path answered', () => {
    const r = curl(`http://${TLS_HOST}/square-root/4?x=1`);
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://${TLS_HOST}/square-root/4?x=1`);
    expect(r.headers['strict-transport-security']).toBeUndefined();
    const health = curl(`http://${TLS_HOST}${HEALTH_PATH}`);
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toBeUndefined();
  });

  test('the Secret replaced under an HTTPS load: every proxy pod serves the new certificate, no restart, no failed request', async () => {
    const pods = cluster.kubectlJson<List<Pod & { status: { podIP: string } }>>(['get', 'pods', '-n', NS, '-l', PROXY_SELECTOR]).items
      .filter((p) => !p.metadata.deletionTimestamp);
    expect(pods.length).toBe(2);
    const service = cluster.kubectlJson<{ spec: { ports: Array<{ port: number; targetPort: number }> } }>(['get', 'service', 'number-crunch-lb', '-n', NS]);
    const podPort = service.spec.ports.find((p) => p.port === HTTPS_PORT)!.targetPort;
    const oldFingerprint = fingerprintOf(join(dir, 'tls.crt'));
    for (const p of pods) expect(servedFingerprint(`${p.status.podIP}:${podPort}`)).toBe(oldFingerprint);
    const restarts = (list: Pod[]) => Object.fromEntries(list.map((p) => [p.metadata.name, restartsOf(p)]));
    const restartsBefore = restarts(pods);

    const renewed = join(dir, 'renewed');
    reissueCertificate(dir, renewed);
    const newFingerprint = fingerprintOf(join(renewed, 'tls.crt'));
    expect(newFingerprint).not.toBe(oldFingerprint);

    // Half the workers open a new connection (and handshake) per request; the keep-alive half share one HTTP/2
    // connection, so one pod's reload is also crossed by keep-alive traffic, the other's by new connections only.
    const load = cluster.startLoad(`https://${TLS_HOST}/square-root/4`, { rate: RATE, maxSeconds: KUBELET_SYNC_BOUND_S + 60, cacert: caFile, connectTo: `${LB_IP}:${HTTPS_PORT}` });
    const served: Record<string, number> = {};
    let updatedAt = 0;
    let failure: unknown;
    try {
      await sleep(5000);
      const secret = cluster.kubectlOk(['create', 'secret', 'tls', SECRET, '-n', NS, '--cert', join(renewed, 'tls.crt'),
        '--key', join(renewed, 'tls.key'), '--dry-run=client', '-o', 'yaml']);
      cluster.kubectlOk(['replace', '-f', '-'], { input: secret });
      updatedAt = Date.now();
      await waitFor('every proxy pod serving the new certificate', KUBELET_SYNC_BOUND_S + RELOADER_CHECK_S + 10, 1000, () => {
        for (const p of pods) {
          if (served[p.metadata.name] === undefined && servedFingerprint(`${p.status.podIP}:${podPort}`) === newFingerprint) {
            served[p.metadata.name] = (Date.now() - updatedAt) / 1000;
          }
        }
        return Object.keys(served).length === pods.length ? true : undefined;
      });
      await sleep(5000);
    } catch (e) {
      failure = e;
    }
    const result = await load.stop();
    if (failure) throw failure;

    // When each pod's reloader saw the new files and signalled nginx (its log, with timestamps): the kubelet's delay
    // and up to one look of the reloader.
    const seen: Record<string, number> = {};
    for (const p of pods) {
      const logs = cluster.kubectlOk(['logs', '-n', NS, p.metadata.name, '-c', RELOADER, '--timestamps']);
      const line = logs.split('\n').find((l) => /changed: SIGHUP/.test(l));
      if (line) seen[p.metadata.name] = (Date.parse(line.split(' ')[0]) - updatedAt) / 1000;
    }
    const figures = pods.map((p) => `${p.metadata.name}: reloader saw the new files after ${seen[p.metadata.name]?.toFixed(1)} s, `
      + `new certificate served after ${served[p.metadata.name].toFixed(1)} s`).join('; ');
    console.log(describeLoad('certificate rotation under HTTPS load', result, `Secret replaced; ${figures}`));

    expect({ failed: result.failed, errors: result.errors, non2xx: result.non2xx }).toEqual({ failed: 0, errors: {}, non2xx: {} });
    expect(result.requests).toBeGreaterThan(RATE * 10);
    for (const p of pods) {
      expect(seen[p.metadata.name]).toBeDefined();
      expect(served[p.metadata.name] - seen[p.metadata.name]).toBeLessThanOrEqual(SIGNAL_TO_SERVED_BOUND_S);
    }
    const after = cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', PROXY_SELECTOR]).items
      .filter((p) => !p.metadata.deletionTimestamp);
    expect(restarts(after)).toEqual(restartsBefore);
  });
});
