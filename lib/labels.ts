import { createHash } from 'node:crypto';
import { isLabelValue, MAX_LABEL_VALUE_LENGTH } from './validate';

/** Value of `app.kubernetes.io/managed-by` on every object this project makes. */
export const MANAGED_BY = 'cdk8s';

/** Value of `app.kubernetes.io/part-of` unless a chart sets its own. */
export const DEFAULT_PART_OF = 'number-crunch';

/** Key of the recommended version label. */
export const VERSION_LABEL = 'app.kubernetes.io/version';
/** Key of the recommended name label. */
export const NAME_LABEL = 'app.kubernetes.io/name';
/** Key of the recommended component label. */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

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
  /** Its version (`app.kubernetes.io/version`), a valid label value (`versionLabel` derives one from an image); left out when undefined. */
  readonly version?: string;
}

/** Labels that select a workload's pods: stable across versions, so Deployment selectors never change. */
export function selectorLabels(i: Pick<AppLabelInputs, 'name' | 'instance'>): Record<string, string> {
  return { [NAME_LABEL]: i.name, 'app.kubernetes.io/instance': i.instance };
}

/** The recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */
export function recommendedLabels(i: AppLabelInputs): Record<string, string> {
  return {
    ...selectorLabels(i),
    [COMPONENT_LABEL]: i.component,
    'app.kubernetes.io/part-of': i.partOf,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    ...(i.version ? { [VERSION_LABEL]: checkedVersion(i.version) } : {}),
  };
}

function checkedVersion(version: string): string {
  if (!isLabelValue(version)) {
    throw new Error(`version ${JSON.stringify(version)} is not a valid label value: derive it with versionLabel(image)`);
  }
  return version;
}

/** Hex digits of the tag's SHA-256 appended to a shortened tag, so two long tags with one prefix stay apart. */
const VERSION_HASH_LENGTH = 10;

/**
 * The value of the version label for an image: its tag when that is a valid label value; otherwise the tag with
 * non-alphanumeric ends trimmed and, if still longer than 63 characters, a prefix + '-' + the first 10 hex digits of
 * the SHA-256 of the whole tag. Undefined (no version label) for a digest-only reference and for a tag with
 * characters no label value allows (an image tag never has them).
 */
export function versionLabel(image: string): string | undefined {
  const tag = imageTag(image);
  if (tag === undefined || /[^-A-Za-z0-9_.]/.test(tag)) return undefined;
  const trimmed = tag.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  if (trimmed === '') return undefined;
  if (trimmed.length <= MAX_LABEL_VALUE_LENGTH) return trimmed;
  const hash = createHash('sha256').update(tag).digest('hex').slice(0, VERSION_HASH_LENGTH);
  const prefix = trimmed.slice(0, MAX_LABEL_VALUE_LENGTH - 1 - VERSION_HASH_LENGTH).replace(/[^A-Za-z0-9]+$/, '');
  return `${prefix}-${hash}`;
}

/**
 * The tag of an image reference ("nginx:1.28" -> "1.28", "host:5000/app" -> "latest", "app@sha256:..." -> undefined):
 * the tag follows the last ':' after the last '/' (a registry's port comes before a '/'), before any '@digest'.
 * A digest-only reference has no tag a label can carry.
 */
export function imageTag(image: string): string | undefined {
  const [withoutDigest, digest] = image.split('@');
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon >= 0) return lastSegment.slice(colon + 1);
  return digest === undefined ? 'latest' : undefined;
}
