import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { configChecksum, NGINX_CONF_FILE } from '../lib/nginx-conf';
import {
  DEFAULT_NGINX_IMAGE, NGINX_CONFIG_DIR, NGINX_RUNTIME_DIR, ReverseProxy, ReverseProxyProps,
} from '../lib/reverse-proxy';
import { serviceAddress, ServiceAddresses } from '../lib/service-address';
import { tlsReloaderProbe, tlsReloaderScript } from '../lib/tls-reloader';
import { errorOf, find, Manifest, synth } from './util';

type Mount = { mountPath: string; name: string; readOnly?: boolean };
type Volume = { name: string; configMap?: { name: string }; emptyDir?: object };

const upstream = serviceAddress('number-crunch-service', 'default', 8080);
const build = (props: Partial<ReverseProxyProps> = {}) => {
  let proxy!: ReverseProxy;
  const objects = synth((chart) => { proxy = new ReverseProxy(chart, 'proxy', { upstream, ...props }); });
  return { proxy, objects, deployment: find(objects, 'Deployment'), configMap: find(objects, 'ConfigMap') };
};
const container = (d: Manifest) => d.spec.template.spec.containers[0];
const checksumOf = (d: Manifest) => d.spec.template.metadata.annotations!['checksum/config'];

describe('defaults', () => {
  const { proxy, deployment, configMap } = build();

  test('two replicas of a pinned unprivileged nginx on port 8080', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(container(deployment).image).toBe(DEFAULT_NGINX_IMAGE);
    expect(DEFAULT_NGINX_IMAGE).toMatch(/unprivileged:\d+\.\d+\.\d+/);
    expect(container(deployment).ports).toEqual([{ containerPort: 8080, name: 'http' }]);
  });

  test('nginx.conf comes from the ConfigMap, rendered for the upstream object', () => {
    expect(configMap.data![NGINX_CONF_FILE]).toBe(proxy.nginxConf);
    expect(proxy.nginxConf).toContain(`server ${upstream.fqdn}:${upstream.port} resolve max_fails=0;`);
    const mounts = container(deployment).volumeMounts;
    const volumes = deployment.spec.template.spec.volumes;
    const configMount = mounts.find((m: Mount) => m.mountPath === NGINX_CONFIG_DIR);
    expect(configMount.readOnly).toBe(true);
    expect(volumes.find((v: Volume) => v.name === configMount.name).configMap.name).toBe(configMap.metadata.name);
    expect(container(deployment).command).toEqual(
      ['nginx', '-e', 'stderr', '-c', `${NGINX_CONFIG_DIR}/${NGINX_CONF_FILE}`, '-g', 'daemon off;']);
  });

  test('starts read-only and non-root: a writable emptyDir where nginx.conf puts pid and temp files', () => {
    const c = container(deployment);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 101, runAsGroup: 101, allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const runtimeMount = c.volumeMounts.find((m: Mount) => m.mountPath === NGINX_RUNTIME_DIR);
    const runtimeVolume = deployment.spec.template.spec.volumes.find((v: Volume) => v.name === runtimeMount.name);
    expect(runtimeVolume.emptyDir).toBeDefined();
    expect(proxy.nginxConf).toContain(`pid ${NGINX_RUNTIME_DIR}/nginx.pid;`);
    expect(deployment.spec.template.spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  });

  test('probes hit nginx\'s own health path', () => {
    for (const probe of [container(deployment).readinessProbe, container(deployment).livenessProbe]) {
      expect(probe.httpGet).toMatchObject({ path: '/nginx-health', port: 8080 });
    }
    expect(proxy.nginxConf).toMatch(/location = \/nginx-health/);
  });

  test('resources small enough for a laptop node', () => {
    expect(container(deployment).resources).toEqual({
      requests: { cpu: '50m', memory: '16Mi' }, limits: { cpu: '500m', memory: '64Mi' },
    });
  });

  test('the pod template carries the config checksum', () => {
    expect(checksumOf(deployment)).toBe(configChecksum(proxy.nginxConf));
  });

  test('selects its pods by stable labels', () => {
    expect(deployment.spec.selector.matchLabels).toEqual(proxy.selectorLabels);
    expect(proxy.labels['app.kubernetes.io/component']).toBe('proxy');
  });
});

describe('config checksum', () => {
  test('is stable when nothing changes', () => {
    expect(checksumOf(build().deployment)).toBe(checksumOf(build().deployment));
  });
  test('changes with the config', () => {
    const before = checksumOf(build().deployment);
    expect(checksumOf(build({ nginx: { upstreamKeepalive: 8 } }).deployment)).not.toBe(before);
    expect(checksumOf(build({ upstream: serviceAddress('other', 'default', 8080) }).deployment)).not.toBe(before);
  });
  test('does not change with settings outside the config', () => {
    expect(checksumOf(build({ replicas: 3 }).deployment)).toBe(checksumOf(build().deployment));
  });
});

describe('props', () => {
  test('resolver: the cluster DNS Service of the upstream\'s cluster domain by default, or the one given', () => {
    expect(build().proxy.nginxConf).toContain('resolver kube-dns.kube-system.svc.cluster.local valid=5s ipv6=off;');
    expect(build({ resolver: '10.152.183.10' }).proxy.nginxConf).toContain('resolver 10.152.183.10 valid=5s ipv6=off;');
    expect(() => build({ resolver: 'kube dns' })).toThrow(/resolver.*DNS subdomain/);
  });
  test('fallbackUpstream: a backup server, re-resolved like the upstream; never the upstream itself', () => {
    expect(build().proxy.nginxConf).not.toMatch(/backup/);
    const pods = ServiceAddresses.of('api-pods', 'shop', 8080);
    expect(build({ fallbackUpstream: pods }).proxy.nginxConf).toContain('server api-pods.shop.svc.cluster.local:8080 resolve backup max_fails=0;');
    expect(() => build({ fallbackUpstream: upstream })).toThrow(/fallbackUpstream.*another name than upstream/);
    expect(() => build({ fallbackUpstream: ServiceAddresses.of('api-pods', 'shop', 0) })).toThrow(/fallbackUpstream\.port/);
  });
  test('nginx.upstreamTries: 12 by default, 1 to 20; nginx.resolveIntervalSeconds reaches the resolver', () => {
    expect(build().proxy.nginxConf).toContain('proxy_next_upstream_tries 12;');
    expect(build({ nginx: { upstreamTries: 20 } }).proxy.nginxConf).toContain('proxy_next_upstream_tries 20;');
    expect(build({ nginx: { upstreamTries: 1 } }).proxy.nginxConf).toContain('proxy_next_upstream_tries 1;');
    expect(build({ nginx: { resolveIntervalSeconds: 30 } }).proxy.nginxConf).toContain('valid=30s');
    expect(() => build({ nginx: { upstreamTries: 0 } })).toThrow(/nginx\.upstreamTries/);
    expect(() => build({ nginx: { upstreamTries: 21 } })).toThrow(/nginx\.upstreamTries.*at most 20/);
    expect(() => build({ nginx: { resolveIntervalSeconds: 0 } })).toThrow(/nginx\.resolveIntervalSeconds/);
  });
  test('name and configMapName', () => {
    const { deployment, configMap } = build({ name: 'edge', configMapName: 'edge-conf' });
    expect(deployment.metadata.name).toBe('edge');
    expect(configMap.metadata.name).toBe('edge-conf');
    expect(build({ name: 'edge' }).configMap.metadata.name).toBe('edge-config');
  });
  test('instance and partOf', () => {
    const { proxy } = build({ instance: 'blue', partOf: 'maths' });
    expect(proxy.labels).toMatchObject({ 'app.kubernetes.io/instance': 'blue', 'app.kubernetes.io/part-of': 'maths' });
  });
  test('instance and partOf take any valid label value', () => {
    const { proxy, deployment } = build({ instance: 'My_App.v2', partOf: 'A' });
    expect(proxy.labels).toMatchObject({ 'app.kubernetes.io/instance': 'My_App.v2', 'app.kubernetes.io/part-of': 'A' });
    expect(deployment.spec.selector.matchLabels['app.kubernetes.io/instance']).toBe('My_App.v2');
  });
  test('image and pull policy', () => {
    const c = container(build({ image: 'nginx-unpriv:9.9.9', imagePullPolicy: kplus.ImagePullPolicy.ALWAYS }).deployment);
    expect([c.image, c.imagePullPolicy]).toEqual(['nginx-unpriv:9.9.9', 'Always']);
  });
  test('imageRevision sits next to the config checksum', () => {
    const { deployment, proxy } = build({ imageRevision: 'build-7' });
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      'checksum/config': configChecksum(proxy.nginxConf), 'number-crunch-cdk8s/image-revision': 'build-7',
    });
  });
  test('replicas', () => expect(build({ replicas: 3 }).deployment.spec.replicas).toBe(3));
  test('more than one replica: a PodDisruptionBudget <name>-pdb allowing one disruption, selecting exactly the proxy pods', () => {
    const { objects, deployment, proxy } = build({ replicas: 2 });
    const pdb = find(objects, 'PodDisruptionBudget', 'reverse-proxy-pdb');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
    expect(pdb.metadata.labels).toEqual(proxy.labels);
    expect(proxy.podDisruptionBudget).toBeDefined();
    expect(find(build({ name: 'edge', replicas: 3 }).objects, 'PodDisruptionBudget').metadata.name).toBe('edge-pdb');
  });
  test('one replica: no PodDisruptionBudget', () => {
    const { objects, proxy } = build({ replicas: 1 });
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(proxy.podDisruptionBudget).toBeUndefined();
  });
  test('podDisruptionBudget overrides the replica rule both ways', () => {
    expect(build({ podDisruptionBudget: true }).objects.filter((o) => o.kind === 'PodDisruptionBudget')).toHaveLength(1);
    expect(build({ replicas: 2, podDisruptionBudget: false }).objects.filter((o) => o.kind === 'PodDisruptionBudget')).toHaveLength(0);
  });
  test('port flows to listen, container port and probes', () => {
    const { deployment, proxy } = build({ port: 9090 });
    expect(proxy.nginxConf).toMatch(/listen 9090;/);
    expect(container(deployment).ports[0].containerPort).toBe(9090);
    expect(container(deployment).readinessProbe.httpGet.port).toBe(9090);
  });
  test('healthPath', () => {
    const { deployment, proxy } = build({ healthPath: '/ping' });
    expect(proxy.nginxConf).toMatch(/location = \/ping/);
    expect(container(deployment).livenessProbe.httpGet.path).toBe('/ping');
  });
  test('runAsUser and runAsGroup', () => {
    expect(container(build({ runAsUser: 2000, runAsGroup: 3000 }).deployment).securityContext)
      .toMatchObject({ runAsUser: 2000, runAsGroup: 3000 });
  });
  test('resources', () => {
    expect(container(build({ resources: { memory: { limit: Size.mebibytes(100) } } }).deployment).resources)
      .toEqual({ limits: { memory: '100Mi' } });
  });
  test('preStopSeconds', () => {
    const d = build({ preStopSeconds: 9 }).deployment;
    expect(container(d).lifecycle.preStop.exec.command).toEqual(['sleep', '9']);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(9 + 30);
  });
  test('zero-downtime rollout and spreading by default; maxSurge, maxUnavailable and spreadAcrossNodes change them', () => {
    const defaults = build().deployment.spec;
    expect(defaults.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(defaults.template.spec.topologySpreadConstraints).toHaveLength(1);
    const changed = build({ maxSurge: 2, maxUnavailable: 1, spreadAcrossNodes: false }).deployment.spec;
    expect(changed.strategy.rollingUpdate).toEqual({ maxSurge: 2, maxUnavailable: 1 });
    expect(changed.template.spec.topologySpreadConstraints).toBeUndefined();
  });
  test('nginx tuning', () => {
    const { proxy } = build({ nginx: { workerProcesses: 4, workerConnections: 512, connectTimeoutSeconds: 1, readTimeoutSeconds: 5, accessLog: true } });
    expect(proxy.nginxConf).toMatch(/worker_processes 4;/);
    expect(proxy.nginxConf).toMatch(/worker_connections 512;/);
    expect(proxy.nginxConf).toMatch(/proxy_connect_timeout 1s;/);
    expect(proxy.nginxConf).toMatch(/proxy_read_timeout 5s;/);
    expect(proxy.nginxConf).toMatch(/access_log \/dev\/stdout/);
  });
  test('a tuning value given as undefined keeps its default (as when left out)', () => {
    expect(build({ nginx: { workerProcesses: undefined, workerConnections: 64 } }).proxy.nginxConf).toMatch(/worker_processes 1;\n[^]*worker_connections 64;/);
  });
});

describe('public-Internet defaults', () => {
  const { proxy, deployment, objects } = build();
  test('per-client limits on: 64 requests in progress, 500 req/s, a burst of 1000', () => {
    expect(proxy.nginxConf).toMatch(/limit_conn per_client_connections 64;/);
    expect(proxy.nginxConf).toMatch(/limit_req_zone \$binary_remote_addr zone=per_client_requests:4m rate=500r\/s;/);
    expect(proxy.nginxConf).toMatch(/limit_req zone=per_client_requests burst=1000 nodelay;/);
  });
  test('client time-outs of 10 s, 4096 connections per worker', () => {
    for (const d of ['client_header_timeout', 'client_body_timeout', 'send_timeout', 'keepalive_timeout']) {
      expect(proxy.nginxConf).toMatch(new RegExp(`^\\s*${d} 10s;`, 'm'));
    }
    expect(proxy.nginxConf).toMatch(/worker_connections 4096;/);
  });
  test('no TLS: plain HTTP on one port, no Secret mounted, no reloader, no shared process namespace', () => {
    expect(container(deployment).ports).toEqual([{ containerPort: 8080, name: 'http' }]);
    expect(deployment.spec.template.spec.volumes.map((v: Volume) => v.name)).toEqual(['config', 'runtime']);
    expect(deployment.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['nginx', 'nginx-exporter']);
    expect('shareProcessNamespace' in deployment.spec.template.spec).toBe(false);
    expect(proxy.tlsPort).toBeUndefined();
    expect(proxy.nginxConf).not.toMatch(/ssl/);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

describe('clientLimits', () => {
  test('sizes reach the config', () => {
    const conf = build({ clientLimits: { connectionsPerClient: 8, requestsPerSecond: 20, burst: 0 } }).proxy.nginxConf;
    expect(conf).toMatch(/limit_conn per_client_connections 8;/);
    expect(conf).toMatch(/rate=20r\/s;/);
    expect(conf).toMatch(/limit_req zone=per_client_requests burst=0 nodelay;/);
  });
  test('enabled: false turns them off', () => {
    expect(build({ clientLimits: { enabled: false } }).proxy.nginxConf).not.toMatch(/limit_(conn|req)/);
  });
});

describe('tls', () => {
  const { proxy, deployment, objects } = build({ tls: { secretName: 'calc-tls' } });
  test('an nginx image older than 1.25.1 is refused only with tls', () => {
    expect(container(build({ image: 'nginx:1.24.0' }).deployment).image).toBe('nginx:1.24.0');
  });
  test('mounts the kubernetes.io/tls Secret read-only where nginx.conf reads it', () => {
    const volume = deployment.spec.template.spec.volumes.find((v: { secret?: object }) => v.secret);
    expect(volume).toEqual({ name: 'tls', secret: { secretName: 'calc-tls' } });
    expect(container(deployment).volumeMounts).toContainEqual({ mountPath: '/etc/nginx/tls', name: 'tls', readOnly: true });
    expect(proxy.nginxConf).toMatch(/ssl_certificate \/etc\/nginx\/tls\/tls\.crt;/);
    expect(proxy.nginxConf).toMatch(/ssl_certificate_key \/etc\/nginx\/tls\/tls\.key;/);
  });
  test('key material never appears in the manifests: no Secret object is written', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(JSON.stringify(objects)).not.toMatch(/BEGIN|PRIVATE KEY/);
  });
  test('HTTPS on container port 8443 named https, beside http; probes stay on the plain port', () => {
    expect(container(deployment).ports).toEqual([{ containerPort: 8080, name: 'http' }, { containerPort: 8443, name: 'https' }]);
    expect(proxy.tlsPort).toBe(8443);
    expect(proxy.tlsSecretName).toBe('calc-tls');
    expect(proxy.nginxConf).toMatch(/listen 8443 ssl;/);
    expect(container(deployment).readinessProbe.httpGet).toMatchObject({ path: '/nginx-health', port: 8080 });
  });
  test('HSTS for a year by default; port and hstsMaxAgeSeconds change', () => {
    expect(proxy.nginxConf).toMatch(/Strict-Transport-Security "max-age=31536000" always;/);
    const other = build({ tls: { secretName: 'calc-tls', port: 9443, hstsMaxAgeSeconds: 0 } });
    expect(other.proxy.nginxConf).toMatch(/listen 9443 ssl;/);
    expect(other.proxy.nginxConf).toMatch(/Strict-Transport-Security "max-age=0" always;/);
    expect(container(other.deployment).ports[1]).toEqual({ containerPort: 9443, name: 'https' });
  });
});

describe('tls: the tls-reloader sidecar', () => {
  const { proxy, deployment } = build({ tls: { secretName: 'calc-tls' } });
  const pod = deployment.spec.template.spec;
  const reloader = pod.containers[2];
  const probe = { exec: { command: ['sh', '-c', tlsReloaderProbe('/tmp/nginx.pid')] }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1 };

  test('runs beside nginx and the exporter, in one process namespace with them', () => {
    expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['nginx', 'nginx-exporter', 'tls-reloader']);
    expect(pod.shareProcessNamespace).toBe(true);
  });

  test('the exporter then runs as nobody (65534), not as nginx\'s user, which could read the key through /proc', () => {
    const exporter = pod.containers.find((c: { name: string }) => c.name === 'nginx-exporter');
    expect(exporter.securityContext).toMatchObject({ runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true });
    expect(reloader.securityContext).toMatchObject({ runAsUser: 101, runAsGroup: 101 });
  });

  test('nginx\'s own pinned image, its script as the command, checking every 5 s', () => {
    expect(reloader.image).toBe(DEFAULT_NGINX_IMAGE);
    expect(reloader.imagePullPolicy).toBe(container(deployment).imagePullPolicy);
    expect(reloader.command).toEqual(['sh', '-c', tlsReloaderScript({ certificateDir: '/etc/nginx/tls', checkSeconds: 5, pidFile: '/tmp/nginx.pid' })]);
    expect(reloader.command[2]).toMatch(/^d=\/etc\/nginx\/tls$/m);
    expect(reloader.command[2]).toMatch(/read -r p 2>\/dev\/null <\/tmp\/nginx\.pid;/);
    expect(reloader.command[2]).toMatch(/^ {2}sleep 5$/m);
    expect(reloader.ports).toBeUndefined();
  });

  test('the Secret read-only where nginx reads it, and nginx\'s emptyDir read-only for the pid file nginx.conf names', () => {
    expect(reloader.volumeMounts).toEqual([
      { mountPath: '/etc/nginx/tls', name: 'tls', readOnly: true }, { mountPath: '/tmp', name: 'runtime', readOnly: true },
    ]);
    expect(container(deployment).volumeMounts).toContainEqual({ mountPath: '/tmp', name: 'runtime' });
    expect(proxy.nginxConf).toMatch(/^pid \/tmp\/nginx\.pid;$/m);
  });

  test('nginx\'s user (allowed to signal it), no capability, a read-only root', () => {
    expect(reloader.securityContext).toEqual({
      runAsUser: 101, runAsGroup: 101, runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] },
    });
    expect(container(deployment).securityContext).toMatchObject({ runAsUser: 101, runAsGroup: 101 });
  });

  test('tiny resources; probes that it may signal nginx\'s master', () => {
    expect(reloader.resources).toEqual({ requests: { cpu: '5m', memory: '8Mi' }, limits: { cpu: '100m', memory: '16Mi' } });
    expect(reloader.readinessProbe).toEqual(probe);
    expect(reloader.livenessProbe).toEqual(probe);
  });

  test('reloadCheckSeconds, the proxy\'s image and user, and no exporter reach it', () => {
    const d = build({
      image: 'registry.example.com/nginx:1.30.6', runAsUser: 2000, runAsGroup: 3000, metricsExporter: false,
      tls: { secretName: 'calc-tls', reloadCheckSeconds: 30 },
    }).deployment;
    const spec = d.spec.template.spec;
    expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(['nginx', 'tls-reloader']);
    expect(spec.containers[1].image).toBe('registry.example.com/nginx:1.30.6');
    expect(spec.containers[1].command[2]).toBe(tlsReloaderScript({ certificateDir: '/etc/nginx/tls', checkSeconds: 30, pidFile: '/tmp/nginx.pid' }));
    expect(spec.containers[1].securityContext).toMatchObject({ runAsUser: 2000, runAsGroup: 3000 });
    expect(spec.shareProcessNamespace).toBe(true);
  });
});

describe('validation errors', () => {
  test.each<[string, Partial<ReverseProxyProps>, RegExp]>([
    ['missing upstream', { upstream: undefined }, /ReverseProxy at 'test\/proxy': invalid upstream undefined: pass the address of the Service/],
    ['upstream port', { upstream: { ...upstream, port: 0 } }, /invalid upstream.port 0/],
    ['name', { name: 'Edge' }, /ReverseProxy at 'test\/proxy': invalid name "Edge"/],
    ['configMapName', { configMapName: 'a_b' }, /invalid configMapName "a_b"/],
    ['instance', { instance: 'x_' }, /ReverseProxy at 'test\/proxy': invalid instance "x_": a label value must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit/],
    ['partOf', { partOf: 'a b' }, /invalid partOf "a b": a label value must be/],
    ['image', { image: '' }, /invalid image ""/],
    ['replicas', { replicas: 0 }, /invalid replicas 0/],
    ['port', { port: 65536 }, /invalid port 65536/],
    ['healthPath', { healthPath: 'health' }, /invalid healthPath "health": must start with '\/'/],
    ['healthPath with a space', { healthPath: '/a b' }, /invalid healthPath "\/a b"/],
    ['runAsUser root', { runAsUser: 0 }, /invalid runAsUser 0: must be a positive integer/],
    ['runAsGroup', { runAsGroup: -5 }, /invalid runAsGroup -5/],
    ['preStopSeconds', { preStopSeconds: 0 }, /invalid preStopSeconds 0/],
    ['maxSurge', { maxSurge: 1.5 }, /ReverseProxy at 'test\/proxy': invalid maxSurge 1.5: must be a whole number/],
    ['maxUnavailable and maxSurge both 0', { maxSurge: 0, maxUnavailable: 0 }, /invalid maxUnavailable 0: maxSurge and maxUnavailable cannot both be 0/],
    ['workerProcesses', { nginx: { workerProcesses: 0 } }, /invalid nginx.workerProcesses 0/],
    ['workerConnections', { nginx: { workerConnections: 1.5 } }, /invalid nginx.workerConnections 1.5/],
    ['upstreamKeepalive', { nginx: { upstreamKeepalive: -1 } }, /invalid nginx.upstreamKeepalive -1/],
    ['connectTimeoutSeconds', { nginx: { connectTimeoutSeconds: 0 } }, /invalid nginx.connectTimeoutSeconds 0/],
    ['readTimeoutSeconds', { nginx: { readTimeoutSeconds: 0 } }, /invalid nginx.readTimeoutSeconds 0/],
    ['upstream FQDN that is no DNS name', { upstream: { ...upstream, fqdn: 'calc; include /etc/passwd' } }, /invalid upstream.fqdn "calc; include \/etc\/passwd": must be a DNS subdomain/],
    ['clientTimeoutSeconds', { nginx: { clientTimeoutSeconds: 0 } }, /invalid nginx.clientTimeoutSeconds 0: must be a positive integer/],
    ['keepaliveTimeoutSeconds', { nginx: { keepaliveTimeoutSeconds: 2.5 } }, /invalid nginx.keepaliveTimeoutSeconds 2.5/],
    ['a rate of 0 while the limits are on', { clientLimits: { requestsPerSecond: 0 } },
      /ReverseProxy at 'test\/proxy': invalid clientLimits.requestsPerSecond 0: must be a positive integer \(a rate of 0 would refuse every request\); to turn the limits off, set clientLimits.enabled to false/],
    ['0 connections per client', { clientLimits: { connectionsPerClient: 0 } }, /invalid clientLimits.connectionsPerClient 0: must be a positive integer .*clientLimits.enabled to false/],
    ['a negative burst', { clientLimits: { burst: -1 } }, /invalid clientLimits.burst -1: must be a whole number, 0 or more/],
    ['a fractional burst', { clientLimits: { burst: 1.5 } }, /invalid clientLimits.burst 1.5/],
    ['enabled that is no boolean', { clientLimits: { enabled: 'yes' as unknown as boolean } }, /invalid clientLimits.enabled "yes": must be true or false/],
    ['tls without a Secret name', { tls: {} as never }, /invalid tls.secretName undefined: name the kubernetes.io\/tls Secret/],
    ['tls Secret name in upper case', { tls: { secretName: 'Calc-TLS' } }, /ReverseProxy at 'test\/proxy': invalid tls.secretName "Calc-TLS": .*DNS-1123 subdomain.*\(e.g. "calc-tls"\)/],
    ['tls Secret name with an underscore', { tls: { secretName: 'calc_tls' } }, /invalid tls.secretName "calc_tls"/],
    ['tls Secret name ending in a dot', { tls: { secretName: 'calc.' } }, /invalid tls.secretName "calc."/],
    ['tls Secret name longer than 253', { tls: { secretName: 'a'.repeat(254) } }, /invalid tls.secretName "a{254}"/],
    ['tls port that is the plain port', { tls: { secretName: 'calc-tls', port: 8080 } },
      /invalid tls.port 8080: is also the plain HTTP port \(port\): give HTTPS its own port, e.g. 8443/],
    ['tls default port clashing with port 8443', { port: 8443, tls: { secretName: 'calc-tls' } }, /invalid tls.port 8443: is also the plain HTTP port \(port\): .*e.g. 8080/],
    ['tls port out of range', { tls: { secretName: 'calc-tls', port: 70000 } }, /invalid tls.port 70000: a port must be an integer from 1 to 65535/],
    ['tls with an nginx image older than http2 on;', { image: 'nginx:1.24.0', tls: { secretName: 'calc-tls' } },
      /ReverseProxy at 'test\/proxy': invalid image "nginx:1.24.0": tls needs nginx 1.25.1 or later \(its config uses "http2 on;"\): use a newer image, e.g. "nginxinc\/nginx-unprivileged:1.30.6-alpine"/],
    ['negative HSTS max-age', { tls: { secretName: 'calc-tls', hstsMaxAgeSeconds: -1 } },
      /invalid tls.hstsMaxAgeSeconds -1: must be a whole number of seconds, 0 or more/],
    ['a reload check every 0 s', { tls: { secretName: 'calc-tls', reloadCheckSeconds: 0 } },
      /ReverseProxy at 'test\/proxy': invalid tls.reloadCheckSeconds 0: must be a whole number of seconds from 1 to 3600 \(how often the tls-reloader sidecar looks at the certificate\): leave it out for 5$/],
    ['a fractional reload check', { tls: { secretName: 'calc-tls', reloadCheckSeconds: 2.5 } }, /invalid tls.reloadCheckSeconds 2.5: must be a whole number of seconds from 1 to 3600/],
    ['a reload check over an hour', { tls: { secretName: 'calc-tls', reloadCheckSeconds: 3601 } }, /invalid tls.reloadCheckSeconds 3601: must be a whole number of seconds from 1 to 3600/],
  ])('%s', (_label, props, message) => {
    expect(errorOf((scope) => new ReverseProxy(scope, 'proxy', { upstream, ...props } as ReverseProxyProps))).toMatch(message);
  });
});

describe('metrics exporter', () => {
  const { proxy, deployment } = build();
  const exporter = () => deployment.spec.template.spec.containers[1];

  test('the official nginx-prometheus-exporter runs beside nginx, pinned, reading stub_status over the pod\'s loopback', () => {
    expect(deployment.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['nginx', 'nginx-exporter']);
    expect(exporter()).toMatchObject({
      image: 'nginx/nginx-prometheus-exporter:1.5.1',
      args: ['--nginx.scrape-uri=http://127.0.0.1:8081/stub_status', '--web.listen-address=:9113'],
    });
  });

  test('its port 9113 is named metrics; nginx\'s container keeps only http', () => {
    expect(exporter().ports).toEqual([{ containerPort: 9113, name: 'metrics' }]);
    expect(container(deployment).ports).toEqual([{ containerPort: 8080, name: 'http' }]);
    expect(proxy.metricsPort).toBe(9113);
  });

  test('it has resources and probes of its port', () => {
    expect(exporter().resources).toEqual({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '48Mi' } });
    expect(exporter().readinessProbe.tcpSocket).toEqual({ port: 9113 });
    expect(exporter().livenessProbe.tcpSocket).toEqual({ port: 9113 });
  });

  test('it is hardened like nginx: Pod Security "restricted"', () => {
    expect(exporter().securityContext).toEqual({
      runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('the pod template carries the Prometheus scrape annotations for port 9113, path /metrics', () => {
    expect(deployment.spec.template.metadata.annotations).toEqual({
      'checksum/config': configChecksum(proxy.nginxConf),
      'prometheus.io/scrape': 'true', 'prometheus.io/port': '9113', 'prometheus.io/path': '/metrics',
    });
  });

  test('nginx serves stub_status on 127.0.0.1:8081 only', () => {
    expect(proxy.nginxConf).toMatch(/listen 127\.0\.0\.1:8081;/);
    expect(proxy.nginxConf).toMatch(/location = \/stub_status \{\s*stub_status;/);
  });

  test('stubStatusPort and metricsExporterImage', () => {
    const { proxy: p, deployment: d } = build({ stubStatusPort: 8099, metricsExporterImage: 'registry.example.com/exporter:1.5.1' });
    expect(d.spec.template.spec.containers[1].args).toContain('--nginx.scrape-uri=http://127.0.0.1:8099/stub_status');
    expect(d.spec.template.spec.containers[1].image).toBe('registry.example.com/exporter:1.5.1');
    expect(p.nginxConf).toMatch(/listen 127\.0\.0\.1:8099;/);
  });

  test('metricsExporter false: nginx alone, no status server, no scrape annotations', () => {
    const { proxy: p, deployment: d } = build({ metricsExporter: false });
    expect(d.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['nginx']);
    expect(p.nginxConf).not.toMatch(/stub_status/);
    expect(d.spec.template.metadata.annotations).toEqual({ 'checksum/config': configChecksum(p.nginxConf) });
    expect(p.metricsPort).toBeUndefined();
  });

  test.each<[string, Partial<ReverseProxyProps>, RegExp]>([
    ['port on the exporter\'s', { port: 9113 }, /ReverseProxy at 'test\/p': invalid port 9113: must differ from the metrics exporter's port, 9113/],
    ['stubStatusPort on the exporter\'s', { stubStatusPort: 9113 }, /invalid stubStatusPort 9113: must differ from the metrics exporter's port, 9113/],
    ['stubStatusPort on nginx\'s', { stubStatusPort: 8080 }, /invalid stubStatusPort 8080: must differ from port \(8080\)/],
    ['a stubStatusPort out of range', { stubStatusPort: 70000 }, /invalid stubStatusPort 70000: a port must be an integer from 1 to 65535/],
    ['an exporter image with a space', { metricsExporterImage: 'nginx exporter' }, /invalid metricsExporterImage "nginx exporter"/],
  ])('%s is refused, naming the prop', (_label, props, message) => {
    expect(errorOf((scope) => new ReverseProxy(scope, 'p', { upstream, ...props }))).toMatch(message);
  });

  test('with the exporter off, the exporter\'s port is free for nginx', () => {
    expect(build({ metricsExporter: false, port: 9113 }).proxy.port).toBe(9113);
  });
});
