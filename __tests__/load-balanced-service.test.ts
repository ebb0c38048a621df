import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  ExternalTrafficPolicy, LoadBalancedService, LoadBalancedServiceProps,
} from '../lib/load-balanced-service';
import { resolveWorkload, secureDeployment } from '../lib/secure-deployment';
import { errorOf, find, selects, synth } from './util';

const podLabels = { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'web' };
const workload = (scope: Construct) => secureDeployment(scope, 'web', {
  workload: resolveWorkload(scope, { spreadAcrossNodes: false },
    { name: 'web', image: 'web:1.0', replicas: 1, port: 8080, resources: {}, component: 'web' }),
  runAsUser: 1000, runAsGroup: 1000, drainSeconds: 5, container: {},
});
const build = (props: Partial<LoadBalancedServiceProps> = {}) => {
  let lb!: LoadBalancedService;
  const objects = synth((chart) => {
    lb = new LoadBalancedService(chart, 'lb', { target: workload(chart), targetPort: 8080, ...props });
  });
  return { lb, objects, service: find(objects, 'Service'), deployment: find(objects, 'Deployment') };
};

describe('defaults', () => {
  const { service, deployment, lb } = build();
  test('a LoadBalancer Service with its own name, port 8080 to the target port', () => {
    expect(service.metadata.name).toBe('web-lb');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8080 }]);
    expect(lb.port).toBe(8080);
  });
  test('selects exactly the target pods', () => {
    expect(service.spec.selector).toEqual(podLabels);
    expect(selects(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
  });
  test('Cluster traffic policy, no annotations, no source ranges, labels of the target', () => {
    expect(service.spec.externalTrafficPolicy).toBe('Cluster');
    expect(service.metadata.annotations).toBeUndefined();
    expect(service.spec.loadBalancerSourceRanges).toBeUndefined();
    expect(service.metadata.labels).toEqual(deployment.metadata.labels);
  });
});

describe('props', () => {
  const spec = (p: Partial<LoadBalancedServiceProps>) => build(p).service;
  test('name, port, targetPort', () => {
    const s = spec({ name: 'front', port: 80, targetPort: 8081 });
    expect(s.metadata.name).toBe('front');
    expect(s.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 8081 }]);
  });
  test('loadBalancerIP becomes the MetalLB annotation', () => {
    // MetalLB v0.13.x (microk8s's add-on) reads only metallb.universe.tf/*; v0.14.9+ reads metallb.io/* first.
    expect(spec({ loadBalancerIP: '192.168.1.240' }).metadata.annotations).toEqual({
      'metallb.universe.tf/loadBalancerIPs': '192.168.1.240',
      'metallb.io/loadBalancerIPs': '192.168.1.240',
    });
  });
  test('addressPool becomes the MetalLB annotation', () => {
    expect(spec({ addressPool: 'lab' }).metadata.annotations).toEqual({
      'metallb.universe.tf/address-pool': 'lab',
      'metallb.io/address-pool': 'lab',
    });
  });
  test('externalTrafficPolicy', () => {
    expect(spec({ externalTrafficPolicy: ExternalTrafficPolicy.LOCAL }).spec.externalTrafficPolicy).toBe('Local');
  });
  test('loadBalancerSourceRanges', () => {
    expect(spec({ loadBalancerSourceRanges: ['10.0.0.0/8', '2001:db8::/32'] }).spec.loadBalancerSourceRanges)
      .toEqual(['10.0.0.0/8', '2001:db8::/32']);
  });
  test('source ranges turn node ports off, so the ranges cannot be bypassed through a node port', () => {
    // kube-proxy filters loadBalancerSourceRanges on the load balancer's address only; a node port skips that filter.
    expect(spec({ loadBalancerSourceRanges: ['10.0.0.0/8'] }).spec.allocateLoadBalancerNodePorts).toBe(false);
  });
  test('without source ranges the cluster default for node ports stays (field left out)', () => {
    expect(spec({}).spec).not.toHaveProperty('allocateLoadBalancerNodePorts');
    expect(spec({ loadBalancerSourceRanges: [] }).spec).not.toHaveProperty('allocateLoadBalancerNodePorts');
  });
  test('allocateNodePorts: an explicit choice wins, with or without source ranges', () => {
    expect(spec({ loadBalancerSourceRanges: ['10.0.0.0/8'], allocateNodePorts: true }).spec.allocateLoadBalancerNodePorts).toBe(true);
    expect(spec({ allocateNodePorts: false }).spec.allocateLoadBalancerNodePorts).toBe(false);
    expect(spec({ allocateNodePorts: true }).spec.allocateLoadBalancerNodePorts).toBe(true);
  });
  test('extra annotations merge with MetalLB ones', () => {
    const a = spec({ annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' }, loadBalancerIP: '10.1.2.3' })
      .metadata.annotations;
    expect(a).toEqual({
      'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
      'metallb.universe.tf/loadBalancerIPs': '10.1.2.3',
      'metallb.io/loadBalancerIPs': '10.1.2.3',
    });
  });
  test('labels', () => {
    expect(spec({ labels: { team: 'maths' } }).metadata.labels).toEqual({ team: 'maths' });
  });
});

describe('validation errors', () => {
  const target = (scope: Construct) => workload(scope);
  test.each<[string, Partial<LoadBalancedServiceProps>, RegExp]>([
    ['name', { name: 'Front' }, /LoadBalancedService at 'test\/lb': invalid name "Front"/],
    ['port', { port: 0 }, /invalid port 0: a port must be an integer from 1 to 65535/],
    ['targetPort', { targetPort: 99999 }, /invalid targetPort 99999/],
    ['loadBalancerIP', { loadBalancerIP: '192.168.1' }, /invalid loadBalancerIP "192.168.1": must be an IPv4 or IPv6 address/],
    ['addressPool', { addressPool: 'Lab Pool' }, /invalid addressPool "Lab Pool"/],
    ['source range', { loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.1'] }, /invalid loadBalancerSourceRanges\[1\] "10.0.0.1": must be a CIDR block/],
    ['externalTrafficPolicy', { externalTrafficPolicy: 'Nearest' as ExternalTrafficPolicy }, /invalid externalTrafficPolicy "Nearest": must be one of Cluster, Local/],
    ['annotation key', { annotations: { 'bad key': 'x' } }, /invalid annotations\["bad key"\] "x"/],
    ['allocateNodePorts', { allocateNodePorts: 'no' as unknown as boolean }, /invalid allocateNodePorts "no": must be true or false/],
    ['IP twice', { loadBalancerIP: '10.0.0.1', annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.2' } }, /set the address either with loadBalancerIP or with the metallb.io\/loadBalancerIPs annotation, not both/],
    ['IP twice (old prefix)', { loadBalancerIP: '10.0.0.1', annotations: { 'metallb.universe.tf/loadBalancerIPs': '10.0.0.2' } }, /set the address either with loadBalancerIP or with the metallb.universe.tf\/loadBalancerIPs annotation, not both/],
    ['pool twice', { addressPool: 'a', annotations: { 'metallb.io/address-pool': 'b' } }, /set the pool either with addressPool or with the metallb.io\/address-pool annotation, not both/],
    ['pool twice (old prefix)', { addressPool: 'a', annotations: { 'metallb.universe.tf/address-pool': 'b' } }, /set the pool either with addressPool or with the metallb.universe.tf\/address-pool annotation, not both/],
  ])('%s', (_label, props, message) => {
    expect(errorOf((scope) => new LoadBalancedService(scope, 'lb', { target: target(scope), targetPort: 8080, ...props }))).toMatch(message);
  });
  test('missing target', () => {
    expect(errorOf((scope) => new LoadBalancedService(scope, 'lb', { targetPort: 8080 } as LoadBalancedServiceProps)))
      .toMatch(/LoadBalancedService at 'test\/lb': invalid target undefined: pass the Deployment/);
  });
});

test('the Service object is exposed for reaching in', () => {
  const { lb } = build();
  expect(lb.service).toBeInstanceOf(kplus.Service);
  expect(lb.service.name).toBe('web-lb');
});
