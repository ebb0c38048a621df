/**
 * The autoscaler under real load (metrics-server, started by cluster/up.sh): the chart with `autoscaling` set and a
 * short scale-down window; a bounded load from the client on the LAN raises the app's CPU above the target, the
 * HorizontalPodAutoscaler adds pods, and after the load it removes them again. Not one request may fail meanwhile.
 */
import { Testing } from 'cdk8s';
import { NumberCrunchChart } from '../../lib';
import { K8sObject } from '../../validation/manifests';
import { Cluster, describeCluster, describeLoad, List, LoadResult, Pod, readClusterEnv, waitFor } from './cluster-env';

const { env, missing } = readClusterEnv();

// External contracts and harness facts, written literally (not imported from the code under test).
const NS = 'autoscale';
const LB_PORT = 8080;
const LB_IP = '10.97.0.214';
const APP_SELECTOR = 'app.kubernetes.io/instance=number-crunch,app.kubernetes.io/name=number-crunch';
const HPA_NAME_PATTERN = /number-crunch/;
const MIN = 1;
const MAX = 3;
const TARGET_PERCENT = 60; // of the 50m CPU request: 30m per pod on average
const SCALE_DOWN_WINDOW_S = 15;
const LOAD_RATE = 300;
const QUIET_RATE = 20;

interface Hpa {
  readonly metadata: { readonly name: string };
  readonly status: {
    readonly currentReplicas?: number;
    readonly desiredReplicas?: number;
    readonly currentMetrics?: Array<{ readonly resource?: { readonly current?: { readonly averageUtilization?: number } } }> | null;
  };
}

describeCluster(`the autoscaler under load (metrics-server) on Kubernetes ${env?.KUBERNETES_VERSION}`, () => {
  jest.setTimeout(600_000);
  let cluster: Cluster;
  let hpaName = '';

  const hpa = () => cluster.kubectlJson<Hpa>(['get', 'horizontalpodautoscaler', hpaName, '-n', NS]);
  const utilization = (h: Hpa) => h.status.currentMetrics?.[0]?.resource?.current?.averageUtilization;
  const readyApps = () => cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', APP_SELECTOR]).items
    .filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const allApps = () => cluster.kubectlJson<List<Pod>>(['get', 'pods', '-n', NS, '-l', APP_SELECTOR]).items;

  beforeAll(() => {
    if (!env) throw new Error(`CI=true and the cluster cannot run: ${missing}`);
    cluster = new Cluster(env);
  });
  afterAll(() => { cluster?.kubectl(['delete', 'namespace', NS, '--wait=false']); });

  test(`with autoscaling (${MIN}-${MAX} pods, ${TARGET_PERCENT}% of the CPU request, scale-down window ${SCALE_DOWN_WINDOW_S} s) a load adds pods and they go after it; no request fails`, async () => {
    const chart = new NumberCrunchChart(Testing.app(), NS, {
      namespace: NS, loadBalancer: { loadBalancerIP: LB_IP },
      app: { replicas: MIN, autoscaling: { minReplicas: MIN, maxReplicas: MAX, targetCpuUtilizationPercent: TARGET_PERCENT, scaleDownStabilizationSeconds: SCALE_DOWN_WINDOW_S } },
    });
    const objects = Testing.synth(chart) as K8sObject[];
    hpaName = objects.find((o) => o.kind === 'HorizontalPodAutoscaler')?.metadata?.name ?? '';
    expect(hpaName).toMatch(HPA_NAME_PATTERN);
    cluster.applyObjects(objects);
    cluster.rolledOut(NS, objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata!.name!));
    const ip = await cluster.lbAddress(objects.find((o) => o.kind === 'Service' && (o.spec as { type?: string }).type === 'LoadBalancer')!.metadata!.name!, NS);
    const url = `http://${ip}:${LB_PORT}/square-root/4`;
    await cluster.firstOk(url);
    // The autoscaler reads the pods' CPU from metrics-server before the load starts.
    const idle = await waitFor('the autoscaler reading the app\'s CPU', 120, 1000, () => utilization(hpa()));
    expect(readyApps()).toHaveLength(MIN);

    const start = Date.now();
    const load = cluster.startLoad(url, { rate: LOAD_RATE, maxSeconds: 300 });
    let peak = 0;
    let scaledUpAt = 0;
    let added: string[] = [];
    let high: LoadResult;
    try {
      await waitFor(`a pod added by the autoscaler and Ready (utilization ${JSON.stringify(utilization(hpa()))}%)`, 240, 1000, () => {
        peak = Math.max(peak, utilization(hpa()) ?? 0);
        const ready = readyApps();
        if (ready.length <= MIN) return undefined;
        added = ready.map((p) => p.metadata.name);
        scaledUpAt = Date.now();
        return true;
      });
      // A little longer under load, to see the peak and the replicas the autoscaler settles on.
      await new Promise((r) => setTimeout(r, 20_000));
      peak = Math.max(peak, utilization(hpa()) ?? 0);
    } finally {
      high = await load.stop();
    }
    const desiredUnderLoad = hpa().status.desiredReplicas ?? 0;
    const loadSeconds = (Date.now() - start) / 1000;

    // After the load: a light one keeps checking every answer while the autoscaler removes the pods again.
    const quiet = cluster.startLoad(url, { rate: QUIET_RATE, maxSeconds: 300 });
    const downStart = Date.now();
    let low: LoadResult;
    try {
      await waitFor('the autoscaler back at its minimum, the removed pods gone', 240, 1000, () =>
        (hpa().status.desiredReplicas === MIN && allApps().length === MIN ? true : undefined));
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      low = await quiet.stop();
    }
    const downSeconds = (Date.now() - downStart) / 1000;
    console.log([
      `autoscaler: idle ${idle}% of the CPU request, target ${TARGET_PERCENT}%, peak under ${LOAD_RATE} requests/s ${peak}%`,
      `  load to an added pod Ready: ${((scaledUpAt - start) / 1000).toFixed(1)} s (${added.length} Ready: ${added.join(' ')}); desired under load ${desiredUnderLoad}`,
      `  after the load back to ${MIN} pod(s) in ${downSeconds.toFixed(1)} s (scale-down window ${SCALE_DOWN_WINDOW_S} s)`,
      `  ${describeLoad(`under load (${loadSeconds.toFixed(0)} s)`, high)}`,
      `  ${describeLoad('while scaling down', low)}`,
    ].join('\n'));
    expect(peak).toBeGreaterThan(TARGET_PERCENT);
    expect(added.length).toBeGreaterThan(MIN);
    // Still above the minimum at the end of the load: the scale-down came after it.
    expect(desiredUnderLoad).toBeGreaterThan(MIN);
    expect(high.failed).toBe(0);
    expect(low.failed).toBe(0);
  });
});
