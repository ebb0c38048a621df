import { isIP } from 'node:net';
import { Construct } from 'constructs';

/**
 * Prop validation shared by the constructs. Every check throws an `Error` whose message names the construct (type
 * and path), the prop, the bad value and what is allowed, so the fix is obvious from the message alone.
 */

/** Longest Kubernetes object name that is a DNS-1035 label (Services need this form). */
export const MAX_DNS_LABEL_LENGTH = 63;
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN_PART = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Longest label value. */
export const MAX_LABEL_VALUE_LENGTH = 63;
const MAX_SUBDOMAIN_LENGTH = 253;

/** Formats the subject of an error: the construct's class and its path in the construct tree. */
export function describe(scope: Construct): string {
  return `${scope.constructor.name} at '${scope.node.path}'`;
}

/** Throws an error about `prop` of `scope`: what it got and what is allowed. */
export function invalid(scope: Construct, prop: string, value: unknown, allowed: string): never {
  throw new Error(`${describe(scope)}: invalid ${prop} ${JSON.stringify(value)}: ${allowed}`);
}

/** True for a DNS-1035 label: lower-case alphanumerics and '-', starts with a letter, ends alphanumeric, <= 63 chars. */
export function isDnsLabel(value: string): boolean {
  return value.length <= MAX_DNS_LABEL_LENGTH && DNS_LABEL.test(value);
}

/** True for a DNS-1123 subdomain: dot-separated DNS-1123 labels, <= 253 chars. */
export function isDnsSubdomain(value: string): boolean {
  return value.length > 0 && value.length <= MAX_SUBDOMAIN_LENGTH &&
    value.split('.').every((part) => part.length <= MAX_DNS_LABEL_LENGTH && DNS_SUBDOMAIN_PART.test(part));
}

/** True for a valid Kubernetes label value (empty allowed, <= 63 chars, alphanumerics, '-', '_', '.'). */
export function isLabelValue(value: string): boolean {
  return value.length <= MAX_LABEL_VALUE_LENGTH && LABEL_VALUE.test(value);
}

/** Validates an object name that must be a DNS-1035 label (Services, and everything here for uniformity). */
export function checkName(scope: Construct, prop: string, value: string): string {
  if (typeof value !== 'string' || !isDnsLabel(value)) {
    invalid(scope, prop, value,
      `a Kubernetes name must be 1-${MAX_DNS_LABEL_LENGTH} lower-case letters, digits or '-', start with a letter and end with a letter or digit (e.g. "number-crunch")`);
  }
  return value;
}

/** Validates a non-empty label value (e.g. the `instance` and `partOf` labels, which may be more than DNS names). */
export function checkLabelValue(scope: Construct, prop: string, value: string): string {
  if (typeof value !== 'string' || value === '' || !isLabelValue(value)) {
    invalid(scope, prop, value,
      `a label value must be 1-${MAX_LABEL_VALUE_LENGTH} letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. "My_App.v2")`);
  }
  return value;
}

/** Validates a DNS-1123 subdomain such as a cluster domain. */
export function checkSubdomain(scope: Construct, prop: string, value: string): string {
  if (typeof value !== 'string' || !isDnsSubdomain(value)) {
    invalid(scope, prop, value, 'must be a DNS subdomain: dot-separated lower-case labels (e.g. "cluster.local")');
  }
  return value;
}

/** Validates a TCP port number. */
export function checkPort(scope: Construct, prop: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    invalid(scope, prop, value, 'a port must be an integer from 1 to 65535');
  }
  return value;
}

/** Validates an integer of at least `min`; `allowed` says what is allowed. */
function checkIntegerAtLeast(scope: Construct, prop: string, value: number, min: number, allowed: string): number {
  if (!Number.isInteger(value) || value < min) invalid(scope, prop, value, allowed);
  return value;
}

/** Validates a replica count. */
export function checkReplicas(scope: Construct, prop: string, value: number): number {
  return checkIntegerAtLeast(scope, prop, value, 1, 'replicas must be a positive integer (1 or more)');
}

/** Validates a non-empty container image reference without whitespace. */
export function checkImage(scope: Construct, prop: string, value: string): string {
  if (typeof value !== 'string' || value.trim() === '' || /\s/.test(value)) {
    invalid(scope, prop, value, 'an image must be a non-empty reference without spaces (e.g. "number-crunch:local")');
  }
  return value;
}

/** Validates an IPv4 or IPv6 address. */
export function checkIp(scope: Construct, prop: string, value: string): string {
  if (typeof value !== 'string' || isIP(value) === 0) {
    invalid(scope, prop, value, 'must be an IPv4 or IPv6 address (e.g. "192.168.1.240")');
  }
  return value;
}

/** Validates a CIDR block such as "10.0.0.0/8" or "2001:db8::/32". */
export function checkCidr(scope: Construct, prop: string, value: string): string {
  const [address, bits, ...rest] = typeof value === 'string' ? value.split('/') : [];
  const family = address === undefined ? 0 : isIP(address);
  const maxBits = family === 6 ? 128 : 32;
  const prefix = Number(bits);
  if (family === 0 || rest.length > 0 || bits === undefined || !/^\d+$/.test(bits) || prefix > maxBits) {
    invalid(scope, prop, value, 'must be a CIDR block: an IP address, "/" and a prefix length (e.g. "10.0.0.0/8")');
  }
  return value;
}

/** Validates a positive integer (counts, sizes, seconds). */
export function checkPositiveInteger(scope: Construct, prop: string, value: number): number {
  return checkIntegerAtLeast(scope, prop, value, 1, 'must be a positive integer');
}

/** Validates a whole number of zero or more (surge and unavailability counts). */
export function checkNonNegativeInteger(scope: Construct, prop: string, value: number): number {
  return checkIntegerAtLeast(scope, prop, value, 0, 'must be a whole number, 0 or more');
}
