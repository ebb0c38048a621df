import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as api from '../lib';
import { NginxConf, ServiceAddresses } from '../lib';

const root = resolve(__dirname, '..');

test('the entry point exports the constructs, the enum and the factories only (interfaces have no runtime value)', () => {
  expect(Object.keys(api).sort()).toEqual([
    'ExternalTrafficPolicy', 'LoadBalancedService', 'NginxConf', 'NumberCrunchApp', 'NumberCrunchChart',
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

test('NginxConf.render renders the proxy config from its options; NginxConf.checksum is its SHA-256', () => {
  const conf = NginxConf.render({
    upstream: ServiceAddresses.of('calc-service', 'shop', 8081),
    listenPort: 9090,
    healthPath: '/healthy',
    runtimeDir: '/run/nginx/',
    workerProcesses: 2,
    workerConnections: 512,
    upstreamKeepalive: 16,
    connectTimeoutSeconds: 3,
    readTimeoutSeconds: 20,
    accessLog: true,
  });
  for (const line of ['worker_processes 2;', 'pid /run/nginx/nginx.pid;', 'worker_connections 512;',
    'server calc-service.shop.svc.cluster.local:8081;', 'keepalive 16;', 'listen 9090;', 'location = /healthy {',
    'proxy_connect_timeout 3s;', 'proxy_read_timeout 20s;', 'access_log /dev/stdout combined;']) {
    expect(conf).toContain(line);
  }
  expect(NginxConf.checksum('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
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
    'class LoadBalancedService', 'class NginxConf', 'class NumberCrunchApp', 'class NumberCrunchChart',
    'class ProxyNetworkPolicies', 'class ReverseProxy', 'class ServiceAddresses',
    'enum ExternalTrafficPolicy',
    'interface LoadBalancedServiceProps', 'interface LoadBalancerOptions', 'interface NginxConfOptions',
    'interface NginxTuningProps', 'interface NumberCrunchAppOptions', 'interface NumberCrunchAppProps',
    'interface NumberCrunchAutoscalingProps', 'interface NumberCrunchChartProps', 'interface ProxyNetworkPoliciesProps',
    'interface ReverseProxyOptions', 'interface ReverseProxyProps', 'interface ServiceAddress', 'interface WorkloadOptions',
    'interface WorkloadProps',
  ]);
}, 180_000);
