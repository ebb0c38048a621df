import { findNameCollisions } from '../lib/name-collisions';
import { restrictedPodProblems } from '../lib/pod-security';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_NAMESPACE } from '../lib/service-address';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import type { IVolumeProjection } from 'kubernetes-models/v1/VolumeProjection';
import { K8sObject, objectRef } from './manifests';
import { namingErrors, podAnnotationsOf, podLabelsOf, podSpecOf, portNumbers, schemaErrors, unknownFields } from './schema';

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

/** Settings of the rules (the plugin's `properties` in cdk8s.yaml). */
export interface RuleOptions {
  /** DNS domain of the cluster, in Service names nginx forwards to. @default DEFAULT_CLUSTER_DOMAIN ('cluster.local') */
  readonly clusterDomain?: string;
}

/** A named check over a whole set of manifests. */
export interface Rule {
  readonly name: string;
  /** What the rule demands, in a sentence (the recommendation in synth reports). */
  readonly description: string;
  check(objects: readonly K8sObject[], options?: RuleOptions): Violation[];
}

const ns = (o: K8sObject) => o.metadata?.namespace ?? DEFAULT_NAMESPACE;
const violation = (rule: string, o: K8sObject, message: string): Violation =>
  ({ rule, object: objectRef(o), name: o.metadata?.name ?? '', message: `${objectRef(o)}: ${message}` });
const workloads = (objects: readonly K8sObject[]) => objects.filter((o) => podSpecOf(o) !== undefined);
/** True when a non-empty label selector matches `labels` (an empty one, as a Service's, selects nothing). */
export const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const containersOf = (o: K8sObject): IContainer[] => {
  const pod = podSpecOf(o);
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
};

/** Port names and numbers of a workload's containers. */
function containerPorts(o: K8sObject): { numbers: Set<number>; names: Set<string> } {
  const ports = containersOf(o).flatMap((c) => c.ports ?? []);
  return { numbers: new Set(ports.map((p) => p.containerPort)), names: new Set(ports.map((p) => p.name).filter((n): n is string => Boolean(n))) };
}

export const schemaRule: Rule = {
  name: 'schema',
  description: 'Every object is a known Kubernetes 1.27 kind that validates against its schema, with no unknown fields and valid names, labels and ports.',
  check: (objects) => objects.flatMap((o) => [
    ...schemaErrors(o).map((e) => violation('schema', o, `schema: ${e}`)),
    ...unknownFields(o).map((e) => violation('schema', o, e)),
    ...namingErrors(o).map((e) => violation('schema', o, e)),
    ...portNumbers(o).filter(({ port }) => typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
      .map(({ where, port }) => violation('schema', o, `${where} ${JSON.stringify(port)} is not a port from 1 to 65535: use a port number in that range`)),
  ]),
};

export const serviceSelectsPodsRule: Rule = {
  name: 'service-selects-pods',
  description: 'Every Service with a selector selects the pods of exactly one workload in its namespace.',
  // A Service without a selector is legitimate (its Endpoints are managed by hand or by a controller): skipped.
  check: (objects) => objects.filter((o) => o.kind === 'Service' && o.spec?.type !== 'ExternalName').flatMap((svc) => {
    const selector = (svc.spec?.selector ?? {}) as Record<string, string>;
    if (Object.keys(selector).length === 0) return [];
    const matching = workloads(objects).filter((w) => ns(w) === ns(svc) && selects(selector, podLabelsOf(w)));
    if (matching.length === 1) return [];
    return [violation('service-selects-pods', svc, matching.length === 0
      ? `selector ${JSON.stringify(selector)} matches no pods in namespace ${ns(svc)}: use the pod template labels of its workload`
      : `selector ${JSON.stringify(selector)} matches the pods of ${matching.length} workloads (${matching.map(objectRef).join(', ')}): make it select one`)];
  }),
};

export const referencesExistRule: Rule = {
  name: 'references-exist',
  description: 'Every ConfigMap, Secret (or the cert-manager Certificate that writes it), volume and port a pod or Service refers to exists.',
  check: (objects) => {
    const find = (kind: string, namespace: string, name: unknown) =>
      objects.find((o) => o.kind === kind && ns(o) === namespace && o.metadata?.name === name);
    // cert-manager writes the Secret of a Certificate (spec.secretName) in the Certificate's namespace.
    const certificateWrites = (namespace: string, secretName: unknown) => objects.some((o) => o.kind === 'Certificate' &&
      o.apiVersion?.startsWith('cert-manager.io/') && ns(o) === namespace && (o.spec as { secretName?: string } | undefined)?.secretName === secretName);
    const found: Violation[] = [];
    for (const w of workloads(objects)) {
      const pod: Partial<IPodSpec> = podSpecOf(w) ?? {};
      const volumes = new Set<string>((pod.volumes ?? []).map((v) => v.name));
      for (const v of pod.volumes ?? []) {
        // A volume's own configMap/secret, or the sources of a projected volume.
        const sources = [v, ...(v.projected?.sources ?? [])];
        for (const source of sources) {
          const cm = source.configMap;
          if (cm && !cm.optional) {
            const target = find('ConfigMap', ns(w), cm.name);
            if (!target) {
              found.push(violation('references-exist', w, `volume "${v.name}" mounts ConfigMap "${cm.name}", which is not in the manifests: add it or fix the name`));
            } else {
              for (const item of cm.items ?? []) {
                if (!(item.key in (target.data ?? {})) && !(item.key in ((target.binaryData as object | undefined) ?? {}))) {
                  found.push(violation('references-exist', w, `volume "${v.name}" mounts key "${item.key}" of ConfigMap "${cm.name}", which has no such key: fix the key or add it to the ConfigMap`));
                }
              }
            }
          }
          const secretName = source === v ? v.secret?.secretName : (source as IVolumeProjection).secret?.name;
          if (source.secret && !source.secret.optional && !find('Secret', ns(w), secretName) && !certificateWrites(ns(w), secretName)) {
            found.push(violation('references-exist', w, `volume "${v.name}" mounts Secret "${secretName}", which is not in the manifests: add it or fix the name`));
          }
        }
      }
      const ports = containerPorts(w);
      for (const c of containersOf(w)) {
        for (const m of c.volumeMounts ?? []) {
          if (!volumes.has(m.name)) found.push(violation('references-exist', w, `container "${c.name}" mounts volume "${m.name}", which the pod does not define: add it to the pod's volumes or fix the mount's name`));
        }
        const refs = [
          ...(c.envFrom ?? []).flatMap((ref) => [
            { kind: 'ConfigMap', ref: ref.configMapRef, what: 'takes env from' },
            { kind: 'Secret', ref: ref.secretRef, what: 'takes env from' },
          ]),
          ...(c.env ?? []).flatMap((e) => [
            { kind: 'ConfigMap', ref: e.valueFrom?.configMapKeyRef, what: `takes env ${e.name} from` },
            { kind: 'Secret', ref: e.valueFrom?.secretKeyRef, what: `takes env ${e.name} from` },
          ]),
        ];
        for (const { kind, ref, what } of refs) {
          if (ref && !ref.optional && !find(kind, ns(w), ref.name)) {
            found.push(violation('references-exist', w, `container "${c.name}" ${what} ${kind} "${ref.name}", which is not in the manifests: add it or fix the name`));
          }
        }
        for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
          const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
          if (port !== undefined && !(typeof port === 'number' ? ports.numbers.has(port) : ports.names.has(port))) {
            found.push(violation('references-exist', w, `container "${c.name}" ${probe} uses port ${JSON.stringify(port)}, which no container declares: probe a declared containerPort (number or name)`));
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
            found.push(violation('references-exist', svc, `port ${p.port} targets ${JSON.stringify(target)}, which ${objectRef(w)}'s containers do not declare: set targetPort to a containerPort number or name of those pods`));
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
  check: (objects, options = {}) => {
    const domain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    return objects.filter((o) => o.kind === 'ConfigMap').flatMap((cm) =>
      Object.entries(cm.data ?? {}).filter(([key]) => key.endsWith('.conf')).flatMap(([key, conf]) =>
        nginxUpstreams(conf).flatMap(({ host, port, directive }) => {
          const fail = (why: string) => [violation('proxy-upstream', cm, `${key}: "${directive}" ${why}`)];
          const labels = host.split('.');
          if (labels.length === 1 && port !== undefined && !/^\d+$/.test(port)) {
            return fail(`reads like "<service>:<namespace>", which is not a DNS name: use ${host}.${port}.svc.${domain}:<port>`);
          }
          if (labels.length < 4 || labels[2] !== 'svc') {
            return fail(`does not name a Service by its cluster DNS name: use <service>.<namespace>.svc.${domain}:<port>`);
          }
          const hostDomain = labels.slice(3).join('.');
          if (hostDomain !== domain) {
            return fail(`uses cluster domain "${hostDomain}", not the cluster's "${domain}": use ${labels.slice(0, 3).join('.')}.${domain}` +
              ' (or set the clusterDomain property of the validation in cdk8s.yaml)');
          }
          if (port === undefined || !/^\d+$/.test(port)) return fail('has no port: add the Service port, e.g. :8080');
          const [name, namespace] = labels;
          const svc = objects.find((o) => o.kind === 'Service' && o.metadata?.name === name && ns(o) === namespace);
          if (!svc) return fail(`names Service ${namespace}/${name}, which is not in the manifests`);
          const ports: IServicePort[] = svc.spec?.ports ?? [];
          if (!ports.some((p) => p.port === Number(port))) {
            return fail(`uses port ${port}, but Service ${namespace}/${name} listens on ${ports.map((p) => p.port).join(', ')}`);
          }
          if (svc.spec?.type === 'LoadBalancer') return fail(`forwards to a LoadBalancer Service: forward to the ClusterIP Service of the app`);
          return [];
        })));
  },
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
    const missing = (['requests', 'limits'] as const).flatMap((kind) => ['cpu', 'memory'].filter((r) => c.resources?.[kind]?.[r] === undefined).map((r) => `${kind}.${r}`));
    return missing.length === 0 ? [] : [violation('resources-set', w, `container "${c.name}" has no ${missing.join(', ')}: set resources.requests and resources.limits of cpu and memory`)];
  })),
};

export const probesSetRule: Rule = {
  name: 'probes-set',
  description: 'Every long-running container has readiness and liveness probes.',
  check: (objects) => workloads(objects).filter((w) => !['Job', 'CronJob'].includes(w.kind ?? '')).flatMap((w) =>
    (podSpecOf(w)?.containers ?? []).flatMap((c) => (['readinessProbe', 'livenessProbe'] as const).filter((p) => !c[p])
      .map((p) => violation('probes-set', w, `container "${c.name}" has no ${p}: add one (an HTTP GET of a health path, or a TCP check of its port)`)))),
};

/** Every way a workload's pods miss "restricted"; the check itself is lib/pod-security.ts's, which the constructs use. */
export function restrictedProblems(o: K8sObject): string[] {
  return restrictedPodProblems(podSpecOf(o) ?? {}, podAnnotationsOf(o));
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
export function checkManifests(objects: readonly K8sObject[], options: RuleOptions = {}, rules: readonly Rule[] = RULES): Violation[] {
  return rules.flatMap((rule) => rule.check(objects, options));
}
