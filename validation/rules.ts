import { findNameCollisions } from '../lib/name-collisions';
import { K8sObject, objectRef } from './manifests';
import { namingErrors, podLabelsOf, podSpecOf, portNumbers, schemaErrors, unknownFields } from './schema';

/** One broken rule on one object. */
export interface Violation {
  /** The rule's name. */
  readonly rule: string;
  /** The object: "Kind/namespace/name". */
  readonly object: string;
  /** Its name, for tools that look objects up by name (cdk8s construct metadata). */
  readonly name: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** A named check over a whole set of manifests. */
export interface Rule {
  readonly name: string;
  /** What the rule demands, in a sentence (the recommendation in synth reports). */
  readonly description: string;
  check(objects: readonly K8sObject[]): Violation[];
}

const ns = (o: K8sObject) => o.metadata?.namespace ?? 'default';
const violation = (rule: string, o: K8sObject, message: string): Violation =>
  ({ rule, object: objectRef(o), name: o.metadata?.name ?? '', message: `${objectRef(o)}: ${message}` });
const workloads = (objects: readonly K8sObject[]) => objects.filter((o) => podSpecOf(o) !== undefined);
const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const containersOf = (o: K8sObject): any[] => {
  const pod = podSpecOf(o);
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
};

/** Port names and numbers of a workload's containers. */
function containerPorts(o: K8sObject): { numbers: Set<number>; names: Set<string> } {
  const ports = containersOf(o).flatMap((c) => c.ports ?? []);
  return { numbers: new Set(ports.map((p: any) => p.containerPort)), names: new Set(ports.map((p: any) => p.name).filter(Boolean)) };
}

export const schemaRule: Rule = {
  name: 'schema',
  description: 'Every object is a known Kubernetes 1.27 kind that validates against its schema, with no unknown fields and valid names, labels and ports.',
  check: (objects) => objects.flatMap((o) => [
    ...schemaErrors(o).map((e) => violation('schema', o, `schema: ${e}`)),
    ...unknownFields(o).map((e) => violation('schema', o, e)),
    ...namingErrors(o).map((e) => violation('schema', o, e)),
    ...portNumbers(o).filter(({ port }) => typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
      .map(({ where, port }) => violation('schema', o, `${where} ${JSON.stringify(port)} is not a port from 1 to 65535`)),
  ]),
};

export const serviceSelectsPodsRule: Rule = {
  name: 'service-selects-pods',
  description: 'Every Service selects the pods of exactly one workload in its namespace.',
  check: (objects) => objects.filter((o) => o.kind === 'Service' && o.spec?.type !== 'ExternalName').flatMap((svc) => {
    const selector = (svc.spec?.selector ?? {}) as Record<string, string>;
    if (Object.keys(selector).length === 0) return [violation('service-selects-pods', svc, 'has no selector: give it the labels of the pods it fronts')];
    const matching = workloads(objects).filter((w) => ns(w) === ns(svc) && selects(selector, podLabelsOf(w)));
    if (matching.length === 1) return [];
    return [violation('service-selects-pods', svc, matching.length === 0
      ? `selector ${JSON.stringify(selector)} matches no pods in namespace ${ns(svc)}: use the pod template labels of its workload`
      : `selector ${JSON.stringify(selector)} matches the pods of ${matching.length} workloads (${matching.map(objectRef).join(', ')}): make it select one`)];
  }),
};

export const referencesExistRule: Rule = {
  name: 'references-exist',
  description: 'Every ConfigMap, Secret, volume and port a pod or Service refers to exists.',
  check: (objects) => {
    const exists = (kind: string, namespace: string, name: string) =>
      objects.some((o) => o.kind === kind && ns(o) === namespace && o.metadata?.name === name);
    const found: Violation[] = [];
    for (const w of workloads(objects)) {
      const pod = podSpecOf(w);
      const volumes = new Set<string>((pod.volumes ?? []).map((v: any) => v.name));
      for (const v of pod.volumes ?? []) {
        if (v.configMap && !v.configMap.optional && !exists('ConfigMap', ns(w), v.configMap.name)) {
          found.push(violation('references-exist', w, `volume "${v.name}" mounts ConfigMap "${v.configMap.name}", which is not in the manifests: add it or fix the name`));
        }
        if (v.secret && !v.secret.optional && !exists('Secret', ns(w), v.secret.secretName)) {
          found.push(violation('references-exist', w, `volume "${v.name}" mounts Secret "${v.secret.secretName}", which is not in the manifests`));
        }
      }
      const ports = containerPorts(w);
      for (const c of containersOf(w)) {
        for (const m of c.volumeMounts ?? []) {
          if (!volumes.has(m.name)) found.push(violation('references-exist', w, `container "${c.name}" mounts volume "${m.name}", which the pod does not define`));
        }
        for (const ref of c.envFrom ?? []) {
          if (ref.configMapRef && !ref.configMapRef.optional && !exists('ConfigMap', ns(w), ref.configMapRef.name)) {
            found.push(violation('references-exist', w, `container "${c.name}" takes env from ConfigMap "${ref.configMapRef.name}", which is not in the manifests`));
          }
        }
        for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
          if (port !== undefined && !(typeof port === 'number' ? ports.numbers.has(port) : ports.names.has(port))) {
            found.push(violation('references-exist', w, `container "${c.name}" ${probe} uses port ${JSON.stringify(port)}, which no container declares`));
          }
        }
      }
    }
    for (const svc of objects.filter((o) => o.kind === 'Service' && o.spec?.selector)) {
      const targets = workloads(objects).filter((w) => ns(w) === ns(svc) && selects(svc.spec.selector, podLabelsOf(w)));
      for (const p of svc.spec?.ports ?? []) {
        const target = p.targetPort ?? p.port;
        for (const w of targets) {
          const ports = containerPorts(w);
          if (!(typeof target === 'number' ? ports.numbers.has(target) : ports.names.has(target))) {
            found.push(violation('references-exist', svc, `port ${p.port} targets ${JSON.stringify(target)}, which ${objectRef(w)}'s containers do not declare`));
          }
        }
      }
    }
    return found;
  },
};

/** `server host:port` of upstream blocks and `proxy_pass http://host:port` of an nginx.conf. */
export function nginxUpstreams(conf: string): Array<{ host: string; port: string | undefined; directive: string }> {
  const found: Array<{ host: string; port: string | undefined; directive: string }> = [];
  const upstreamNames = new Set([...conf.matchAll(/^\s*upstream\s+(\S+)\s*\{/gm)].map((m) => m[1]));
  for (const m of conf.matchAll(/^\s*server\s+([^\s;:{]+)(?::([^\s;{]+))?[^;{]*;/gm)) found.push({ host: m[1], port: m[2], directive: m[0].trim() });
  for (const m of conf.matchAll(/\bproxy_pass\s+https?:\/\/([^\s;:/]+)(?::([^\s;/]+))?[^;]*;/g)) {
    if (!upstreamNames.has(m[1])) found.push({ host: m[1], port: m[2], directive: m[0].trim() });
  }
  return found;
}

export const proxyUpstreamRule: Rule = {
  name: 'proxy-upstream',
  description: "nginx forwards to an existing Service by its cluster DNS name <service>.<namespace>.svc.<cluster domain> and one of its ports.",
  check: (objects) => objects.filter((o) => o.kind === 'ConfigMap').flatMap((cm) =>
    Object.entries(cm.data ?? {}).filter(([key]) => key.endsWith('.conf')).flatMap(([key, conf]) =>
      nginxUpstreams(conf).flatMap(({ host, port, directive }) => {
        const fail = (why: string) => [violation('proxy-upstream', cm, `${key}: "${directive}" ${why}`)];
        const labels = host.split('.');
        if (labels.length === 1 && port !== undefined && !/^\d+$/.test(port)) {
          return fail(`reads like "<service>:<namespace>", which is not a DNS name: use ${host}.${port}.svc.cluster.local:<port>`);
        }
        if (labels.length < 4 || labels[2] !== 'svc') {
          return fail('does not name a Service by its cluster DNS name: use <service>.<namespace>.svc.cluster.local:<port>');
        }
        if (port === undefined || !/^\d+$/.test(port)) return fail('has no port: add the Service port, e.g. :8080');
        const [name, namespace] = labels;
        const svc = objects.find((o) => o.kind === 'Service' && o.metadata?.name === name && ns(o) === namespace);
        if (!svc) return fail(`names Service ${namespace}/${name}, which is not in the manifests`);
        if (!(svc.spec?.ports ?? []).some((p: any) => p.port === Number(port))) {
          return fail(`uses port ${port}, but Service ${namespace}/${name} listens on ${(svc.spec?.ports ?? []).map((p: any) => p.port).join(', ')}`);
        }
        if (svc.spec?.type === 'LoadBalancer') return fail(`forwards to a LoadBalancer Service: forward to the ClusterIP Service of the app`);
        return [];
      }))),
};

export const uniqueNamesRule: Rule = {
  name: 'unique-names',
  description: 'No two objects of one kind share a name in a namespace (the second would overwrite the first).',
  check: (objects) => {
    const problems = findNameCollisions(objects);
    return problems.map((message) => {
      const [, kind, name, namespace] = /^(\S+) "([^"]+)" in namespace "([^"]+)"/.exec(message) ?? [];
      return { rule: 'unique-names', object: `${kind}/${namespace}/${name}`, name: name ?? '', message };
    });
  },
};

/** The tag of an image reference, or undefined; digest-pinned references count as pinned. */
function imagePinned(image: unknown): boolean {
  if (typeof image !== 'string' || image.trim() === '') return false;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon >= 0 && last.slice(colon + 1) !== 'latest' && last.slice(colon + 1) !== '';
}

export const imagesPinnedRule: Rule = {
  name: 'images-pinned',
  description: 'Every image has an explicit tag other than "latest", or a digest.',
  check: (objects) => workloads(objects).flatMap((w) => containersOf(w).filter((c) => !imagePinned(c.image))
    .map((c) => violation('images-pinned', w, `container "${c.name}" image ${JSON.stringify(c.image)} is not pinned: give it a version tag (not "latest") or a digest`))),
};

export const resourcesSetRule: Rule = {
  name: 'resources-set',
  description: 'Every container requests and limits CPU and memory.',
  check: (objects) => workloads(objects).flatMap((w) => containersOf(w).flatMap((c) => {
    const missing = ['requests', 'limits'].flatMap((kind) => ['cpu', 'memory'].filter((r) => c.resources?.[kind]?.[r] === undefined).map((r) => `${kind}.${r}`));
    return missing.length === 0 ? [] : [violation('resources-set', w, `container "${c.name}" has no ${missing.join(', ')}: set resources`)];
  })),
};

export const probesSetRule: Rule = {
  name: 'probes-set',
  description: 'Every long-running container has readiness and liveness probes.',
  check: (objects) => workloads(objects).filter((w) => !['Job', 'CronJob'].includes(w.kind ?? '')).flatMap((w) =>
    (podSpecOf(w).containers ?? []).flatMap((c: any) => ['readinessProbe', 'livenessProbe'].filter((p) => !c[p])
      .map((p) => violation('probes-set', w, `container "${c.name}" has no ${p}`)))),
};

const RESTRICTED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
const SECCOMP_OK = ['RuntimeDefault', 'Localhost'];

/** Every way a pod misses the Pod Security Standard "restricted" (and our rule of no service account token). */
export function restrictedProblems(o: K8sObject): string[] {
  const pod = podSpecOf(o);
  const problems: string[] = [];
  const podSc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push('uses the host network, PID or IPC namespace');
  if (pod.automountServiceAccountToken !== false) problems.push('mounts the service account token: set automountServiceAccountToken: false');
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.includes(type)) problems.push(`volume "${v.name}" is of type ${type}, not allowed under "restricted"`);
  }
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const where = `container "${c.name}"`;
    if (sc.privileged) problems.push(`${where} is privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where} does not set allowPrivilegeEscalation: false`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${where} does not set runAsNonRoot: true`);
    const user = sc.runAsUser ?? podSc.runAsUser;
    if (user === undefined || user === 0) problems.push(`${where} runs as user ${user ?? '(image default)'}: set a non-zero numeric runAsUser`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (!SECCOMP_OK.includes(seccomp)) problems.push(`${where} has seccomp profile ${seccomp ?? '(none)'}: use RuntimeDefault`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) problems.push(`${where} does not drop capability ALL`);
    const added = (sc.capabilities?.add ?? []).filter((cap: string) => cap !== 'NET_BIND_SERVICE');
    if (added.length > 0) problems.push(`${where} adds capabilities ${added.join(', ')}`);
    if ((c.ports ?? []).some((p: any) => p.hostPort)) problems.push(`${where} uses a hostPort`);
  }
  return problems;
}

export const podSecurityRestrictedRule: Rule = {
  name: 'pod-security-restricted',
  description: 'Every pod meets the Pod Security Standard "restricted" and does not mount a service account token.',
  check: (objects) => workloads(objects).flatMap((w) => restrictedProblems(w).map((p) => violation('pod-security-restricted', w, p))),
};

/** Every rule, in report order. */
export const RULES: readonly Rule[] = [
  schemaRule, uniqueNamesRule, serviceSelectsPodsRule, referencesExistRule, proxyUpstreamRule, imagesPinnedRule,
  resourcesSetRule, probesSetRule, podSecurityRestrictedRule,
];

/** Runs every rule (or the given ones) over a set of manifests. */
export function checkManifests(objects: readonly K8sObject[], rules: readonly Rule[] = RULES): Violation[] {
  return rules.flatMap((rule) => rule.check(objects));
}
