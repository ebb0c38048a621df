import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { NumberCrunchChart, NumberCrunchChartProps, ReverseProxy, ReverseProxyProps } from '../lib';
import { serviceAddress } from '../lib/service-address';
import { customResourceErrors } from '../validation/crds';
import { checkManifests, referencesExistRule, schemaRule } from '../validation/rules';
import { errorOf, find, Manifest } from './util';

// The optional cert-manager Certificate of `proxy.tls.certificate`, typed from cert-manager's CRD (imported offline
// with `cdk8s import imports/crds/cert-manager.io_certificates.yaml`) and checked against that CRD's schema.
const tls = (certificate: object) => ({ tls: { secretName: 'calc-tls', certificate } }) as ReverseProxyProps;
const issued = tls({ issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' }, dnsNames: ['calc.example.com', '*.calc.example.com'] });
const synthChart = (props: NumberCrunchChartProps) => Testing.synth(new NumberCrunchChart(Testing.app(), 'number-crunch', props)) as Manifest[];

test('the CRD file is cert-manager\'s Certificate, v1 served', () => {
  const [crd] = parseAllDocuments(readFileSync(join(__dirname, '..', 'imports', 'crds', 'cert-manager.io_certificates.yaml'), 'utf8')).map((d) => d.toJS());
  expect(crd.metadata.name).toBe('certificates.cert-manager.io');
  expect(crd.spec.versions.filter((v: { served: boolean }) => v.served).map((v: { name: string }) => v.name)).toEqual(['v1']);
});

test('a Certificate for the TLS Secret, naming the issuer and the DNS names', () => {
  const certificate = find(synthChart({ proxy: issued }), 'Certificate');
  expect(certificate.apiVersion).toBe('cert-manager.io/v1');
  expect(certificate.metadata.name).toBe('number-crunch-proxy-certificate');
  expect(certificate.spec).toEqual({
    secretName: 'calc-tls',
    dnsNames: ['calc.example.com', '*.calc.example.com'],
    issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
  });
});

test('issuerRef kind and group default to cert-manager\'s own Issuer', () => {
  const certificate = find(synthChart({ proxy: tls({ issuerRef: { name: 'ca' }, dnsNames: ['calc.example.com'] }) }), 'Certificate');
  expect(certificate.spec.issuerRef).toEqual({ name: 'ca', kind: 'Issuer', group: 'cert-manager.io' });
});

test('no Certificate unless asked for', () => {
  expect(synthChart({ proxy: { tls: { secretName: 'calc-tls' } } }).filter((o) => o.kind === 'Certificate')).toEqual([]);
});

test('the Certificate validates against the CRD\'s schema', () => {
  expect(customResourceErrors(find(synthChart({ proxy: issued }), 'Certificate'))).toEqual([]);
});

test('the CRD schema check finds a missing issuer name, a wrong type and an unknown field', () => {
  const certificate = structuredClone(find(synthChart({ proxy: issued }), 'Certificate'));
  delete certificate.spec.issuerRef.name;
  certificate.spec.dnsNames = 'calc.example.com';
  certificate.spec.secretNmae = 'typo';
  expect(customResourceErrors(certificate)).toEqual(expect.arrayContaining([
    "/spec/issuerRef must have required property 'name'",
    '/spec/dnsNames must be array',
    '/spec must NOT have additional properties "secretNmae"',
  ]));
});

test('the CRD schema check knows Kubernetes\' int32 format: a fraction or a value past 2^31 is refused', () => {
  const certificate = structuredClone(find(synthChart({ proxy: issued }), 'Certificate'));
  certificate.spec.revisionHistoryLimit = 2 ** 31;
  expect(customResourceErrors(certificate)).toEqual([expect.stringMatching(/^\/spec\/revisionHistoryLimit must match format "int32"/)]);
  certificate.spec.revisionHistoryLimit = 1.5;
  expect(customResourceErrors(certificate)).toEqual(['/spec/revisionHistoryLimit must be integer', '/spec/revisionHistoryLimit must match format "int32"']);
  certificate.spec.revisionHistoryLimit = 3;
  expect(customResourceErrors(certificate)).toEqual([]);
});

test('with a Certificate every policy rule passes: it writes the Secret the proxy mounts', () => {
  expect(checkManifests(synthChart({ proxy: issued }))).toEqual([]);
});

test('the schema rule reports a Certificate that breaks the CRD schema, naming the object', () => {
  const objects = synthChart({ proxy: issued });
  find(objects, 'Certificate').spec.renewBefore = 5;
  expect(schemaRule.check(objects).map((v) => v.message)).toEqual([
    expect.stringMatching(/^Certificate\/default\/number-crunch-proxy-certificate: schema: \/spec\/renewBefore must be string: make the object match the schema of its CustomResourceDefinition/),
  ]);
});

test('a Certificate for another Secret does not satisfy the mount', () => {
  const objects = synthChart({ proxy: issued });
  find(objects, 'Certificate').spec.secretName = 'other-tls';
  expect(referencesExistRule.check(objects).map((v) => v.message)).toEqual([
    expect.stringMatching(/volume "tls" mounts Secret "calc-tls", which is not in the manifests/),
  ]);
});

describe('validation errors', () => {
  const upstream = serviceAddress('number-crunch-service', 'default', 8080);
  test.each<[string, object, RegExp]>([
    ['no issuerRef', { dnsNames: ['calc.example.com'] }, /invalid tls.certificate.issuerRef.name undefined: name the Issuer or ClusterIssuer/],
    ['an issuer name with a space', { issuerRef: { name: 'lets encrypt' }, dnsNames: ['a.example'] }, /invalid tls.certificate.issuerRef.name "lets encrypt"/],
    ['a kind in lower case', { issuerRef: { name: 'ca', kind: 'clusterissuer' }, dnsNames: ['a.example'] }, /invalid tls.certificate.issuerRef.kind "clusterissuer": must be a Kubernetes kind/],
    ['a group that is no DNS name', { issuerRef: { name: 'ca', group: 'Cert Manager' }, dnsNames: ['a.example'] }, /invalid tls.certificate.issuerRef.group "Cert Manager"/],
    ['no DNS names', { issuerRef: { name: 'ca' }, dnsNames: [] }, /invalid tls.certificate.dnsNames \[\]: list the public DNS names/],
    ['a DNS name with a port', { issuerRef: { name: 'ca' }, dnsNames: ['calc.example.com:443'] }, /invalid tls.certificate.dnsNames\[0\] "calc.example.com:443": must be a lower-case DNS name/],
  ])('%s', (_label, certificate, message) => {
    expect(errorOf((scope) => new ReverseProxy(scope, 'proxy', { upstream, ...tls(certificate) }))).toMatch(message);
  });
});
