/** Value of `app.kubernetes.io/managed-by` on every object this project makes. */
export const MANAGED_BY = 'cdk8s';

/** Value of `app.kubernetes.io/part-of` unless a chart sets its own. */
export const DEFAULT_PART_OF = 'number-crunch';

/** Key of the recommended version label. */
export const VERSION_LABEL = 'app.kubernetes.io/version';

/** Inputs of the recommended `app.kubernetes.io/*` labels. */
export interface AppLabelInputs {
  /** The application's name (`app.kubernetes.io/name`). */
  readonly name: string;
  /** This instance of it (`app.kubernetes.io/instance`). */
  readonly instance: string;
  /** Its role in the system (`app.kubernetes.io/component`), e.g. `api`, `proxy`, `load-balancer`. */
  readonly component: string;
  /** The system it belongs to (`app.kubernetes.io/part-of`). */
  readonly partOf: string;
  /** Its version (`app.kubernetes.io/version`); left out when it is not a valid label value. */
  readonly version?: string;
}

/** Labels that select a workload's pods: stable across versions, so Deployment selectors never change. */
export function selectorLabels(i: Pick<AppLabelInputs, 'name' | 'instance'>): Record<string, string> {
  return { 'app.kubernetes.io/name': i.name, 'app.kubernetes.io/instance': i.instance };
}

/** The recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */
export function recommendedLabels(i: AppLabelInputs): Record<string, string> {
  return {
    ...selectorLabels(i),
    'app.kubernetes.io/component': i.component,
    'app.kubernetes.io/part-of': i.partOf,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    ...(i.version ? { [VERSION_LABEL]: i.version } : {}),
  };
}

/**
 * The tag of an image reference ("nginx:1.28" -> "1.28", "repo:5000/app" -> "latest", "app@sha256:..." -> undefined),
 * for the version label. A digest-only reference has no tag a label can carry.
 */
export function imageTag(image: string): string | undefined {
  const [withoutDigest, digest] = image.split('@');
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon >= 0) return lastSegment.slice(colon + 1);
  return digest === undefined ? 'latest' : undefined;
}
