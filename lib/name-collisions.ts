import { DEFAULT_NAMESPACE } from './service-address';

/** The identity of a Kubernetes object: what `kubectl apply` would overwrite if two manifests share it. */
export interface ObjectIdentity {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

/** API groups whose kinds share one name space regardless of version (`apps/v1` and `apps/v1beta1` Deployments). */
function group(apiVersion: string | undefined): string {
  const slash = (apiVersion ?? '').indexOf('/');
  return slash < 0 ? '' : (apiVersion ?? '').slice(0, slash);
}

/**
 * Every pair of objects of one kind with the same name in one namespace, described in a sentence each. Two such
 * objects overwrite each other on apply: the tutorial's ClusterIP and LoadBalancer Services did, and its proxy then
 * forwarded to itself.
 */
export function findNameCollisions(objects: readonly ObjectIdentity[], defaultNamespace = DEFAULT_NAMESPACE): string[] {
  const seen = new Map<string, number>();
  const problems: string[] = [];
  objects.forEach((o, index) => {
    const namespace = o.metadata?.namespace ?? defaultNamespace;
    const key = `${group(o.apiVersion)}/${o.kind}/${namespace}/${o.metadata?.name}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
    } else {
      problems.push(`${o.kind} "${o.metadata?.name}" in namespace "${namespace}" is defined twice ` +
        `(objects #${first + 1} and #${index + 1}): the second overwrites the first on apply; give them different names`);
    }
  });
  return problems;
}
