import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from a manifest file: plain JSON. */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Parsed YAML of any kind: code that knows the kind reads its fields (the rules type them with kubernetes-models).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** Every object in a YAML text (empty documents skipped). Throws, naming the source, on invalid YAML. */
export function parseManifests(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${index + 1}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    return value === null || value === undefined ? [] : [value as K8sObject];
  });
}

/** The manifest files of a directory: `*.yaml` and `*.yml`, sorted (other files, e.g. construct-metadata.json, are not manifests). */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
}

/** Every object of every manifest file in `dir`. */
export function loadManifests(dir: string): K8sObject[] {
  return manifestFiles(dir).flatMap((file) => parseManifests(readFileSync(file, 'utf8'), file));
}

/** "Kind/namespace/name", how messages name an object. */
export function objectRef(o: K8sObject): string {
  return `${o.kind ?? '<no kind>'}/${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? '<no name>'}`;
}
