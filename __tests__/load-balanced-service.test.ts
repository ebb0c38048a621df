import {
  ExternalTrafficPolicy, IWorkload, LoadBalancedService, LoadBalancedServiceProps,
} from '../lib';
import { errorOf, find, synth } from './util';

// Any workload will do: the load balancer reads only its name, port and labels.
const podLabels = { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'web' };
const web: IWorkload = {
  name: 'web',
  port: 8081,
  selectorLabels: podLabels,
  labels: { ...podLabels, 'app.kubernetes.io/component': 'web', 'app.kubernetes.io/version': '1.0' },
};
const build = (props: Partial<LoadBalancedServiceProps> = {}) => {
  let lb!: LoadBalancedService;
  const objects = synth((chart) => {
    lb = new LoadBalancedService(chart, 'lb', { target: web, ...props });
  });
  return { lb, objects, service: find(objects, 'Service') };
};

describe('defaults', () => {
  const { service, lb, objects } = build();
  test('a LoadBalancer Service with its own name, port 8080 to the target\'s port', () => {
    expect(service.metadata.name).toBe('web-lb');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8081 }]);
    expect(lb.port).toBe(8080);
    expect(objects).toHaveLength(1);
  });
  test('selects exactly the target pods', () => {
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'web' });
  });
  test('Local traffic policy (the client\'s address reaches the pods), no annotations, no source ranges', () => {
    expect(service.spec.externalTrafficPolicy).toBe('Local');
    expect(service.metadata.annotations).toBeUndefined();
    expect(service.spec.loadBalancerSourceRanges).toBeUndefined();
  });
  test('labels of the target, with its own name and the load-balancer component', () => {
    expect(service.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'web-lb', 'app.kubernetes.io/instance': 'web',
      'app.kubernetes.io/component': 'load-balancer', 'app.kubernetes.io/version': '1.0',
    });
  });
});

describe('props', () => {
  const spec = (p: Partial<LoadBalancedServiceProps>) => build(p).service;
  test('name, port', () => {
    const s = spec({ name: 'front', port: 80 });
    expect(s.metadata.name).toBe('front');
    expect(s.metadata.labels!['app.kubernetes.io/name']).toBe('front');
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
    expect(spec({ externalTrafficPolicy: ExternalTrafficPolicy.CLUSTER }).spec.externalTrafficPolicy).toBe('Cluster');
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
});

describe('validation errors', () => {
  test.each<[string, Partial<LoadBalancedServiceProps>, RegExp]>([
    ['name', { name: 'Front' }, /LoadBalancedService at 'test\/lb': invalid name "Front"/],
    ['port', { port: 0 }, /invalid port 0: a port must be an integer from 1 to 65535/],
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
    expect(errorOf((scope) => new LoadBalancedService(scope, 'lb', { target: web, ...props }))).toMatch(message);
  });
  test.each<[string, IWorkload, RegExp]>([
    ['target without a selector', { ...web, selectorLabels: {} }, /invalid target.selectorLabels \{\}: must have at least one label/],
    ['target with a bad port', { ...web, port: 0 }, /invalid target.port 0: a port must be an integer from 1 to 65535/],
    ['target with a bad name', { ...web, name: 'Web' }, /invalid target.name "Web"/],
  ])('%s', (_label, target, message) => {
    expect(errorOf((scope) => new LoadBalancedService(scope, 'lb', { target }))).toMatch(message);
  });
  test('missing target', () => {
    expect(errorOf((scope) => new LoadBalancedService(scope, 'lb', {})))
      .toMatch(/LoadBalancedService at 'test\/lb': invalid target undefined: pass the workload to put behind the load balancer, e.g. a ReverseProxy/);
  });
});

test('the Service object is exposed for reaching in', () => {
  const { lb } = build();
  expect(lb.service.kind).toBe('Service');
  expect(lb.service.name).toBe('web-lb');
});

describe('a target that serves HTTPS (tlsPort)', () => {
  const secure: IWorkload = { ...web, tlsPort: 8444 };
  const withTls = (props: Partial<LoadBalancedServiceProps> = {}) => {
    let lb!: LoadBalancedService;
    const objects = synth((chart) => { lb = new LoadBalancedService(chart, 'lb', { target: secure, ...props }); });
    return { lb, service: find(objects, 'Service') };
  };
  test('exposes 443 to the HTTPS port and 80 to the plain port', () => {
    const { lb, service } = withTls();
    expect(service.spec.ports).toEqual([
      { name: 'https', port: 443, targetPort: 8444 },
      { name: 'http', port: 80, targetPort: 8081 },
    ]);
    expect([lb.port, lb.httpsPort]).toEqual([80, 443]);
  });
  test('port moves plain HTTP', () => {
    expect(withTls({ port: 8080 }).service.spec.ports[1]).toEqual({ name: 'http', port: 8080, targetPort: 8081 });
  });
  test('port 443 clashes with HTTPS', () => {
    expect(errorOf((scope) => new LoadBalancedService(scope, 'lb', { target: secure, port: 443 })))
      .toMatch(/LoadBalancedService at 'test\/lb': invalid port 443: the target serves HTTPS, which the load balancer exposes on 443: pick another port for plain HTTP, e.g. 80/);
  });
  test('an invalid tlsPort of the target is refused', () => {
    expect(errorOf((scope) => new LoadBalancedService(scope, 'lb', { target: { ...web, tlsPort: 0 } })))
      .toMatch(/invalid target.tlsPort 0: a port must be an integer from 1 to 65535/);
  });
  test('without tlsPort: one port, no httpsPort', () => {
    expect(build().lb.httpsPort).toBeUndefined();
  });
});
