import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { K8sObject } from '../validation/manifests';

/** A Kubernetes object as synthesized: the repository's one object type, with the fields every synthesized object has. */
export type Manifest = K8sObject & { apiVersion: string; kind: string; metadata: NonNullable<K8sObject['metadata']> & { name: string } };

/** Builds a fresh chart (optionally in a namespace), lets `build` add constructs to it, and synthesizes it. */
export function synth(build: (chart: Chart) => void, namespace?: string): Manifest[] {
  const chart = new Chart(Testing.app(), 'test', { namespace });
  build(chart);
  return Testing.synth(chart) as Manifest[];
}

/** The one object of `kind` named `name`; fails the test if there is not exactly one. */
export function find(objects: Manifest[], kind: string, name?: string): Manifest {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  }
  return found[0];
}

/** Runs `build` in a scope and returns the message of the error it throws (fails when it throws none). */
export function errorOf(build: (scope: Construct) => void): string {
  const chart = new Chart(Testing.app(), 'test');
  try {
    build(chart);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}

/** The validation rules' selector match, for tests that check wiring. */
export { selects } from '../validation/rules';
