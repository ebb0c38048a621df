// Writes validation/k8s-fields.json, the field names of every Kubernetes API type, from the OpenAPI definitions of a
// Kubernetes release (the `_definitions.json` that `cdk8s import k8s@<version>` downloads). The schema rule uses it to
// report unknown fields, which kubernetes-models does not check.
//
//   node --import tsx scripts/k8s-fields.ts <path to _definitions.json> > validation/k8s-fields.json
import { readFileSync } from 'node:fs';

interface Schema {
  $ref?: string;
  type?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
}

/** A field's type: the definition it refers to (for objects, or arrays of them), or null for a leaf. */
const refOf = (s: Schema): string | null => {
  const target = s.$ref ?? s.items?.$ref;
  return target ? target.replace('#/definitions/', '') : null;
};

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node --import tsx scripts/k8s-fields.ts <_definitions.json>');
  process.exit(2);
}
const { definitions } = JSON.parse(readFileSync(file, 'utf8')) as { definitions: Record<string, Schema> };
const types: Record<string, Record<string, string | null>> = {};
const kinds: Record<string, string> = {};
for (const [name, schema] of Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b))) {
  if (!schema.properties) continue;
  types[name] = Object.fromEntries(Object.entries(schema.properties).sort(([a], [b]) => a.localeCompare(b))
    .map(([field, s]) => [field, refOf(s)]));
  for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
    kinds[`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`] = name;
  }
}
const version = /v(\d+\.\d+\.\d+)/.exec(file)?.[1] ?? 'unknown';
process.stdout.write(`${JSON.stringify({ source: `Kubernetes ${version} OpenAPI definitions`, kinds, types })}\n`);
