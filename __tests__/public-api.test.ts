import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as api from '../lib';
import { ServiceAddresses } from '../lib';

const root = resolve(__dirname, '..');

test('the entry point exports the constructs, the enum and the factories only (interfaces have no runtime value)', () => {
  expect(Object.keys(api).sort()).toEqual([
    'ExternalTrafficPolicy', 'LoadBalancedService', 'NumberCrunchApp', 'NumberCrunchChart',
    'ProxyNetworkPolicies', 'ReverseProxy', 'ServiceAddresses',
  ]);
});

test('ServiceAddresses.of computes the in-cluster FQDN, cluster.local unless told otherwise', () => {
  expect(ServiceAddresses.of('calc-service', 'shop', 8080)).toEqual({
    serviceName: 'calc-service', namespace: 'shop', port: 8080, clusterDomain: 'cluster.local',
    fqdn: 'calc-service.shop.svc.cluster.local',
  });
  expect(ServiceAddresses.of('db', 'data', 5432, 'corp.internal').fqdn).toBe('db.data.svc.corp.internal');
});

test('jsii compiles lib/ into an assembly whose types are exactly the public API', () => {
  execFileSync(join(root, 'node_modules', '.bin', 'jsii'), ['--silence-warnings=reserved-word'], {
    cwd: root, stdio: 'pipe',
  });
  const assembly = JSON.parse(readFileSync(join(root, '.jsii'), 'utf8'));
  expect(assembly.name).toBe('number-crunch-cdk8s');
  expect(Object.keys(assembly.dependencies).sort()).toEqual(['cdk8s', 'cdk8s-plus-27', 'constructs']);
  expect(assembly.targets.python).toEqual({ distName: 'number-crunch-cdk8s', module: 'number_crunch_cdk8s' });
  expect(assembly.targets.go).toEqual({ moduleName: 'github.com/number-crunch/number-crunch-cdk8s-go', packageName: 'numbercrunchcdk8s' });
  const types = Object.entries(assembly.types as Record<string, { kind: string }>)
    .map(([fqn, t]) => `${t.kind} ${fqn.replace('number-crunch-cdk8s.', '')}`).sort();
  expect(types).toEqual([
    'class LoadBalancedService', 'class NumberCrunchApp', 'class NumberCrunchChart',
    'class ProxyNetworkPolicies', 'class ReverseProxy', 'class ServiceAddresses',
    'enum ExternalTrafficPolicy',
    'interface AutoscalingProps', 'interface CertificateIssuerRef', 'interface ClientLimitsProps', 'interface IWorkload',
    'interface LoadBalancedServiceProps', 'interface NginxTuningProps', 'interface NumberCrunchAppProps',
    'interface NumberCrunchChartProps', 'interface ProxyCertificateProps', 'interface ProxyNetworkPoliciesProps',
    'interface ProxyTlsProps', 'interface ReverseProxyProps', 'interface ServiceAddress', 'interface WorkloadProps',
  ]);
  // One props interface per construct: each construct's constructor takes exactly its own props type.
  const props = (cls: string) => (assembly.types[`number-crunch-cdk8s.${cls}`].initializer.parameters[2].type.fqn as string).replace('number-crunch-cdk8s.', '');
  expect(['NumberCrunchChart', 'NumberCrunchApp', 'ReverseProxy', 'LoadBalancedService', 'ProxyNetworkPolicies'].map(props)).toEqual([
    'NumberCrunchChartProps', 'NumberCrunchAppProps', 'ReverseProxyProps', 'LoadBalancedServiceProps', 'ProxyNetworkPoliciesProps',
  ]);
  // The chart's sub-props are the constructs' own props, not pass-through copies.
  const chartProps = assembly.types['number-crunch-cdk8s.NumberCrunchChartProps'].properties as { name: string; type: { fqn?: string } }[];
  expect(Object.fromEntries(chartProps.filter((p) => p.type.fqn?.startsWith('number-crunch-cdk8s.')).map((p) => [p.name, p.type.fqn])))
    .toEqual({
      app: 'number-crunch-cdk8s.NumberCrunchAppProps',
      proxy: 'number-crunch-cdk8s.ReverseProxyProps',
      loadBalancer: 'number-crunch-cdk8s.LoadBalancedServiceProps',
    });
}, 180_000);

test('the metrics, scraping, autoscaler-behaviour and certificate-reload members are in the assembly, with their types', () => {
  // Runs after the jsii test above (same file, in order), which wrote .jsii from the current lib/.
  const assembly = JSON.parse(readFileSync(join(root, '.jsii'), 'utf8'));
  const member = (type: string, name: string) => {
    const p = (assembly.types[`number-crunch-cdk8s.${type}`].properties as { name: string; optional?: boolean; type: { primitive?: string } }[])
      .find((x) => x.name === name);
    return p && `${p.optional ? 'optional ' : ''}${p.type.primitive}`;
  };
  expect(Object.fromEntries([
    ['NumberCrunchAppProps', 'metricsPort'], ['NumberCrunchApp', 'metricsPort'],
    ['ReverseProxyProps', 'metricsExporter'], ['ReverseProxyProps', 'metricsExporterImage'], ['ReverseProxyProps', 'stubStatusPort'],
    ['ReverseProxy', 'metricsPort'], ['IWorkload', 'metricsPort'],
    ['AutoscalingProps', 'scaleUpStabilizationSeconds'], ['AutoscalingProps', 'scaleDownStabilizationSeconds'],
    ['ProxyNetworkPoliciesProps', 'metricsScrapeNamespace'], ['NumberCrunchChartProps', 'metricsScrapeNamespace'],
    ['ProxyTlsProps', 'reloadCheckSeconds'],
  ].map(([type, name]) => [`${type}.${name}`, member(type, name)]))).toEqual({
    'NumberCrunchAppProps.metricsPort': 'optional number',
    'NumberCrunchApp.metricsPort': 'optional number',
    'ReverseProxyProps.metricsExporter': 'optional boolean',
    'ReverseProxyProps.metricsExporterImage': 'optional string',
    'ReverseProxyProps.stubStatusPort': 'optional number',
    'ReverseProxy.metricsPort': 'optional number',
    'IWorkload.metricsPort': 'optional number',
    'AutoscalingProps.scaleUpStabilizationSeconds': 'optional number',
    'AutoscalingProps.scaleDownStabilizationSeconds': 'optional number',
    'ProxyNetworkPoliciesProps.metricsScrapeNamespace': 'optional string',
    'NumberCrunchChartProps.metricsScrapeNamespace': 'optional string',
    'ProxyTlsProps.reloadCheckSeconds': 'optional number',
  });
});

test('docs/API.md is what jsii-docgen generates from the doc comments today (npm run docs rewrites it)', () => {
  // Runs after the jsii test above (same file, in order), which wrote .jsii from the current lib/.
  const out = join(mkdtempSync(join(tmpdir(), 'api-docs-')), 'API.md');
  execFileSync(join(root, 'node_modules', '.bin', 'jsii-docgen'), ['-o', out], { cwd: root, stdio: 'pipe' });
  const committed = readFileSync(join(root, 'docs', 'API.md'), 'utf8');
  if (committed !== readFileSync(out, 'utf8')) {
    throw new Error('docs/API.md is out of date with the doc comments in lib/: run `npm run docs` and commit docs/API.md');
  }
}, 60_000);
