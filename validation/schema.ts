import { isDnsLabel, isDnsSubdomain, isLabelValue } from '../lib/validate';
import fields from './k8s-fields.json';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { K8sObject } from './manifests';
import { customResourceErrors, isKnownCustomResource } from './crds';

/** Field names of every API type (scripts/k8s-fields.ts writes them from the Kubernetes OpenAPI definitions). */
const FIELDS = fields as { kinds: Record<string, string>; types: Record<string, Record<string, string | null>> };

function walkFields(value: unknown, type: string, path: string, out: string[]): void {
  const known = FIELDS.types[type];
  if (!known || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walkFields(item, type, `${path}[${i}]`, out));
    return;
  }
  for (const [field, child] of Object.entries(value)) {
    const where = path ? `${path}.${field}` : field;
    if (!(field in known)) {
      out.push(`unknown field ${where}: ${type.split('.').pop()} has no such field (a typo, or a field of another API version): rename or remove it`);
    } else if (known[field]) {
      walkFields(child, known[field]!, where, out);
    }
  }
}

/** Fields the API type of `o` does not have (the OpenAPI schema check does not report them). */
export function unknownFields(o: K8sObject): string[] {
  const root = FIELDS.kinds[`${o.apiVersion}/${o.kind}`];
  const out: string[] = [];
  if (root) walkFields(o, root, '', out);
  return out;
}

/** A model class of kubernetes-models: validates an object against the Kubernetes 1.27-era OpenAPI schema. */
type ModelClass = new (data: unknown) => { validate(): void };

const models = new Map<string, ModelClass | undefined>();

/** The kubernetes-models class for an apiVersion and kind (loaded lazily: one module per kind), or undefined. */
export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    let model: ModelClass | undefined;
    if (/^[a-z0-9.]*\/?v\d+(alpha\d+|beta\d+)?$/.test(apiVersion) && /^[A-Z][A-Za-z0-9]*$/.test(kind)) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        model = require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
      } catch {
        model = undefined;
      }
    }
    models.set(key, model);
  }
  return models.get(key);
}

/** Schema errors of one object (empty when valid): unknown apiVersion/kind, or what the OpenAPI schema rejects. */
export function schemaErrors(o: K8sObject): string[] {
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return ['apiVersion and kind must be strings'];
  const Model = modelFor(o.apiVersion, o.kind);
  if (!Model && isKnownCustomResource(o)) {
    return customResourceErrors(o).map((e) => `${e}: make the object match the schema of its CustomResourceDefinition (imports/crds)`);
  }
  if (!Model) return [`unknown kind ${o.kind} in ${o.apiVersion}: not a Kubernetes 1.27 API object; fix apiVersion/kind (CRDs are known to this check only from imports/crds)`];
  try {
    new Model(o).validate();
    return [];
  } catch (e) {
    return [`${(e as Error).message}: make the object match the Kubernetes 1.27 API`];
  }
}

const LABEL_KEY_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** Problems with a label (or annotation, when `value` is not checked) key. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return `label key "${key}": prefix must be a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !LABEL_KEY_NAME.test(name)) {
    return `label key "${key}": name must be 1-63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/** Names, label keys and values the OpenAPI schema does not check. */
export function namingErrors(o: K8sObject): string[] {
  const errors: string[] = [];
  const name = o.metadata?.name;
  // Services and Namespaces need DNS-1035/1123 labels; every other kind here a DNS-1123 subdomain.
  const strict = o.kind === 'Service' || o.kind === 'Namespace';
  if (typeof name !== 'string' || !(strict ? isDnsLabel(name) : isDnsSubdomain(name))) {
    errors.push(`name ${JSON.stringify(name)} is not a valid ${strict ? 'DNS label' : 'DNS subdomain'}: use ${strict
      ? 'at most 63 lower-case letters, digits and "-", starting with a letter and ending alphanumeric'
      : 'at most 253 lower-case letters, digits, "-" and ".", starting and ending alphanumeric'}`);
  }
  const namespace = o.metadata?.namespace;
  if (namespace !== undefined && !isDnsLabel(namespace)) {
    errors.push(`namespace ${JSON.stringify(namespace)} is not a valid DNS label: use at most 63 lower-case letters, digits and "-"`);
  }
  const labelSets = [o.metadata?.labels, o.spec?.template?.metadata?.labels, o.spec?.selector?.matchLabels, o.kind === 'Service' ? o.spec?.selector : undefined];
  for (const labels of labelSets) {
    for (const [key, value] of Object.entries((labels ?? {}) as Record<string, unknown>)) {
      const keyError = labelKeyError(key);
      if (keyError) errors.push(keyError);
      if (typeof value !== 'string' || !isLabelValue(value)) errors.push(`label "${key}": value ${JSON.stringify(value)} is not a valid label value: use at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`);
    }
  }
  for (const key of Object.keys(o.metadata?.annotations ?? {})) {
    const keyError = labelKeyError(key);
    if (keyError) errors.push(keyError.replace('label key', 'annotation key'));
  }
  return errors;
}

/** Every port number in an object, with where it is: container, Service and probe ports, NetworkPolicy ports. */
export function portNumbers(o: K8sObject): Array<{ where: string; port: unknown }> {
  const found: Array<{ where: string; port: unknown }> = [];
  const pod = podSpecOf(o);
  for (const list of ['initContainers', 'containers'] as const) {
    for (const [i, c] of (pod?.[list] ?? []).entries()) {
      for (const p of c.ports ?? []) {
        found.push({ where: `${list}[${i}].ports.containerPort`, port: p.containerPort });
        if (p.hostPort !== undefined) found.push({ where: `${list}[${i}].ports.hostPort`, port: p.hostPort });
      }
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port ?? c[probe]?.grpc?.port;
        if (typeof port === 'number') found.push({ where: `${list}[${i}].${probe}.port`, port });
      }
    }
  }
  if (o.kind === 'Service') {
    for (const p of o.spec?.ports ?? []) {
      found.push({ where: 'spec.ports.port', port: p.port });
      if (typeof p.targetPort === 'number') found.push({ where: 'spec.ports.targetPort', port: p.targetPort });
    }
  }
  if (o.kind === 'NetworkPolicy') {
    for (const rule of [...(o.spec?.ingress ?? []), ...(o.spec?.egress ?? [])]) {
      for (const p of rule.ports ?? []) {
        if (typeof p.port === 'number') found.push({ where: 'spec.*.ports.port', port: p.port });
        if (p.endPort !== undefined) found.push({ where: 'spec.*.ports.endPort', port: p.endPort });
      }
    }
  }
  return found;
}

/**
 * The pod spec of a workload (or Pod), or undefined for other kinds. Typed as the API defines it; the manifests are
 * not checked against it here (the schema rule does that), so callers still guard against missing fields.
 */
export function podSpecOf(o: K8sObject): IPodSpec | undefined {
  switch (o.kind) {
    case 'Pod': return o.spec;
    case 'CronJob': return o.spec?.jobTemplate?.spec?.template?.spec;
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'Job': return o.spec?.template?.spec;
    default: return undefined;
  }
}

/** The metadata of the pods a workload makes (a Pod's own), or undefined for other kinds. */
function podMetadataOf(o: K8sObject): IPodTemplateSpec['metadata'] {
  if (o.kind === 'Pod') return o.metadata;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.metadata;
  return podSpecOf(o) ? o.spec?.template?.metadata : undefined;
}

/** The labels of the pods a workload makes. */
export function podLabelsOf(o: K8sObject): Record<string, string> | undefined {
  return podMetadataOf(o)?.labels;
}

/** The annotations of the pods a workload makes. */
export function podAnnotationsOf(o: K8sObject): Record<string, string> {
  return podMetadataOf(o)?.annotations ?? {};
}
