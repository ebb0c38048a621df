import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { NumberCrunchChart, ReverseProxyProps } from '../lib';
import { HTTP2_DIRECTIVE_SINCE } from '../lib/nginx-conf';
import { runOk } from '../test-support/run';
import { K8sObject } from '../validation/manifests';
import { e2eUnavailableReason, nginxVersion } from './netns-stack';
import { proxyStackSpec, ProxyStackSpec } from './stack-spec';

// HTTPS at the proxy (`proxy.tls`) in the harness, for the TLS tests and the benchmark: the chart synthesized with TLS
// on, and a certificate made here by openssl, to mount where the proxy pod mounts the Secret.

/** The name the test certificate is for (SNI and Host of the clients). */
export const TLS_HOST = 'calc.example';

/** True when version a is older than version b. */
const older = (a: number[], b: number[]): boolean => {
  const i = a.findIndex((v, k) => v !== b[k]);
  return i >= 0 && a[i] < b[i];
};

/**
 * Why the harness cannot serve the TLS config here, or undefined when it can: `http2 on;` needs nginx 1.25.1 or
 * later (Debian bookworm's 1.22 refuses the config).
 */
export function tlsUnavailableReason(): string | undefined {
  const unavailable = e2eUnavailableReason();
  if (unavailable) return unavailable;
  const version = nginxVersion();
  return version !== undefined && older(version, HTTP2_DIRECTIVE_SINCE)
    ? `HTTPS with \`http2 on;\` needs nginx >= ${HTTP2_DIRECTIVE_SINCE.join('.')}, this machine has ${version.join('.')} (install a newer nginx, e.g. Debian unstable's)`
    : undefined;
}

/** The TLS chart's proxy stack, where its proxy pod mounts the Secret, and its HTTPS port. */
export interface TlsStack {
  readonly spec: ProxyStackSpec;
  readonly secretMountPath: string;
  readonly tlsPort: number;
}

/** Synthesizes the chart with `proxy` and TLS on (Secret `calc-tls`) and reads its proxy stack. */
export function tlsStack(proxy: ReverseProxyProps = {}): TlsStack {
  const chart = new NumberCrunchChart(Testing.app(), 'number-crunch', { proxy: { ...proxy, tls: { secretName: 'calc-tls', ...proxy.tls } } });
  const objects = Testing.synth(chart) as K8sObject[];
  const pod = (objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'number-crunch-proxy')!.spec as
    { template: { spec: { volumes: Array<{ name: string; secret?: object }>; containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }> } } }).template.spec;
  const volume = pod.volumes.find((v) => v.secret)!;
  return {
    spec: proxyStackSpec(objects),
    secretMountPath: pod.containers[0].volumeMounts.find((m) => m.name === volume.name)!.mountPath,
    tlsPort: chart.proxy.tlsPort!,
  };
}

/** Key type of the test certificate (and of its CA). */
export type CertificateKey = 'ecdsa-p256' | 'rsa-2048';

const NEW_KEY: Record<CertificateKey, string[]> = {
  'ecdsa-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'rsa-2048': ['-newkey', 'rsa:2048'],
};

/**
 * A CA and a server certificate for TLS_HOST in `dir`, as a kubernetes.io/tls Secret's files (tls.crt, tls.key),
 * readable by nginx's unprivileged user; the CA is `dir`/ca.crt. Returns the CA's PEM.
 */
export function makeCertificate(dir: string, key: CertificateKey = 'ecdsa-p256'): string {
  const f = (name: string) => join(dir, name);
  runOk('openssl', ['req', '-x509', ...NEW_KEY[key], '-nodes', '-days', '2',
    '-subj', '/CN=number-crunch test CA', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  runOk('openssl', ['req', ...NEW_KEY[key], '-nodes', '-subj', `/CN=${TLS_HOST}`,
    '-keyout', f('tls.key'), '-out', f('tls.csr')]);
  writeFileSync(f('san.ext'), `subjectAltName=DNS:${TLS_HOST}\n`);
  runOk('openssl', ['x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-days', '2', '-out', f('tls.crt'), '-extfile', f('san.ext')]);
  chmodSync(dir, 0o755);
  for (const name of ['tls.crt', 'tls.key']) chmodSync(f(name), 0o644);
  return readFileSync(f('ca.crt'), 'utf8');
}
