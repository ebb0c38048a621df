import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { K8sObject } from './manifests';

/**
 * Custom resources the project writes, checked against the OpenAPI schema of their CustomResourceDefinition, as the
 * API server checks them. The CRDs are the YAML files in imports/crds/ (the same files `cdk8s import` typed the
 * constructs from). Unlike the API server, a field the schema does not declare is an error here, not silently pruned.
 */

/** Directory of the CRD files. */
export const CRD_DIR = join(__dirname, '..', 'imports', 'crds');

interface CrdVersion { name: string; served?: boolean; schema?: { openAPIV3Schema?: Record<string, unknown> } }
interface Crd { kind?: string; spec?: { group?: string; names?: { kind?: string }; versions?: CrdVersion[] } }

/** The schema with every object that lists its properties closed to others, unless it says to keep unknown fields. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const s = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'enum' || k === 'default' || k === 'example' ? v : closed(v)]));
  if (s.type === 'object' && s.properties && s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields']) {
    s.additionalProperties = false;
  }
  return s;
}

let validators: Map<string, ValidateFunction> | undefined;

/** The OpenAPI formats Kubernetes CRDs use, which Ajv does not know by itself (it would warn and skip them). */
const KUBERNETES_FORMATS = {
  'int32': { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  'int64': { type: 'number' as const, validate: (n: number) => Number.isInteger(n) },
  // RFC 3339, as Kubernetes writes timestamps (status fields: the chart never writes them).
  'date-time': { type: 'string' as const, validate: (t: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(t) },
};

/** `apiVersion/kind` -> validator, for every served version of every CRD in CRD_DIR. */
function crdValidators(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const ajv = new Ajv({ allErrors: true, strict: false, formats: KUBERNETES_FORMATS });
  validators = new Map();
  for (const file of readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(CRD_DIR, file), 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec?.names?.kind) continue;
      for (const v of crd.spec.versions ?? []) {
        const schema = v.schema?.openAPIV3Schema;
        if (v.served === false || !schema) continue;
        validators.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, ajv.compile(closed(schema) as object));
      }
    }
  }
  return validators;
}

/** True when a CRD in CRD_DIR defines the object's apiVersion and kind. */
export function isKnownCustomResource(o: K8sObject): boolean {
  return crdValidators().has(`${o.apiVersion}/${o.kind}`);
}

/** What the CRD's schema rejects in `o` (empty when valid, or when no CRD defines it). */
export function customResourceErrors(o: K8sObject): string[] {
  const validate = crdValidators().get(`${o.apiVersion}/${o.kind}`);
  if (!validate || validate(o)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath || '/';
    const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : '';
    return `${where} ${e.message}${extra}`;
  });
}
