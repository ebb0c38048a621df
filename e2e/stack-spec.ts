import { K8sObject, loadManifests, objectRef } from '../validation/manifests';
import { nginxUpstreams } from '../validation/rules';

/** What the end-to-end harness needs to know about the proxy pod and its upstream, read from `dist/`. */
export interface ProxyStackSpec {
  /** nginx.conf exactly as the ConfigMap holds it. */
  readonly nginxConf: string;
  /** Where the pod mounts the ConfigMap. */
  readonly configMountPath: string;
  /** The ConfigMap key the container reads (its file name in the mount). */
  readonly configFile: string;
  /** Where the pod mounts emptyDirs: the only writable places. */
  readonly emptyDirPaths: string[];
  /** The container's command. */
  readonly command: string[];
  /** Numeric user and group the container runs as. */
  readonly runAsUser: number;
  readonly runAsGroup: number;
  /** nginx's container port. */
  readonly proxyPort: number;
  /** Path of the proxy's own health endpoint (its readiness probe). */
  readonly proxyHealthPath: string;
  /** The DNS server nginx.conf's `resolver` names (a host name or an address), if it has one. */
  readonly resolver?: string;
  /** The backup upstream's host name (nginx.conf's `server ... backup`), if it has one. */
  readonly fallbackHost?: string;
  /** The upstream as nginx.conf names it. */
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** The app Service it resolves to, and the port its pods listen on. */
  readonly appService: K8sObject;
  readonly appTargetPort: number;
}

/** The parts of a Deployment's and a Service's spec the harness reads, as they are in the manifests (plain JSON). */
interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
}
interface Container {
  command?: string[];
  args?: string[];
  ports?: Array<{ containerPort?: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  readinessProbe?: { httpGet?: { path?: string } };
  securityContext?: SecurityContext;
}
interface PodSpec {
  containers?: Container[];
  volumes?: Array<{ name: string; configMap?: { name?: string }; emptyDir?: object }>;
  securityContext?: SecurityContext;
}
interface DeploymentSpec {
  template?: { spec?: PodSpec };
}
interface ServiceSpec {
  ports?: Array<{ port?: number; targetPort?: number | string }>;
}

const fail = (message: string): never => {
  throw new Error(`dist/ does not describe a proxy stack the harness can run: ${message}`);
};

/** Reads the proxy stack out of manifests: the Deployment that mounts a ConfigMap with nginx.conf, and its upstream. */
export function proxyStackSpec(objects: K8sObject[]): ProxyStackSpec {
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && o.data && Object.keys(o.data).some((k) => k.endsWith('.conf')));
  for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
    const pod: PodSpec = (deployment.spec as DeploymentSpec | undefined)?.template?.spec ?? {};
    const container = pod.containers?.[0];
    for (const volume of pod.volumes ?? []) {
      const cm = configMaps.find((c) => c.metadata?.name === volume.configMap?.name &&
        (c.metadata?.namespace ?? 'default') === (deployment.metadata?.namespace ?? 'default'));
      const mount = container?.volumeMounts?.find((m) => m.name === volume.name);
      if (!cm || !container || !mount) continue;
      const configFile = Object.keys(cm.data!).find((k) => k.endsWith('.conf'))!;
      const nginxConf = cm.data![configFile];
      const emptyDirNames = (pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name);
      const [upstream] = nginxUpstreams(nginxConf);
      if (!upstream || upstream.port === undefined) fail(`no "server host:port" upstream in ${objectRef(cm)}`);
      const { host: upstreamHost, port } = upstream;
      const [svcName, namespace, svc] = upstreamHost.split('.');
      if (svc !== 'svc') fail(`upstream "${upstreamHost}" is not a Service DNS name <service>.<namespace>.svc.<domain>`);
      const appService = objects.find((o) => o.kind === 'Service' && o.metadata?.name === svcName &&
        (o.metadata?.namespace ?? 'default') === namespace) ?? fail(`no Service ${namespace}/${svcName} for upstream ${upstreamHost}`);
      const servicePort = (appService.spec as ServiceSpec | undefined)?.ports?.find((p) => p.port === Number(port)) ??
        fail(`Service ${namespace}/${svcName} has no port ${port}`);
      const securityContext = { ...pod.securityContext, ...container.securityContext };
      const runAsUser = securityContext.runAsUser ?? fail('the proxy container has no runAsUser');
      return {
        nginxConf,
        configMountPath: mount.mountPath,
        configFile,
        emptyDirPaths: (container.volumeMounts ?? []).filter((m) => emptyDirNames.includes(m.name)).map((m) => m.mountPath),
        command: [...(container.command ?? []), ...(container.args ?? [])],
        runAsUser,
        runAsGroup: securityContext.runAsGroup ?? runAsUser,
        proxyPort: container.ports?.[0]?.containerPort ?? fail('the proxy container has no port'),
        proxyHealthPath: container.readinessProbe?.httpGet?.path ?? fail('the proxy container has no HTTP readiness probe'),
        resolver: /^\s*resolver\s+([^\s;]+)/m.exec(nginxConf)?.[1],
        fallbackHost: /^\s*server\s+([^\s:;]+)[^;]*\sbackup\b[^;]*;/m.exec(nginxConf)?.[1],
        upstreamHost,
        upstreamPort: Number(port),
        appService,
        appTargetPort: Number(servicePort.targetPort ?? servicePort.port),
      };
    }
  }
  return fail('no Deployment mounts a ConfigMap holding a .conf file');
}

/** The proxy stack of the manifests in `dir` (normally dist/). */
export function loadProxyStackSpec(dir: string): ProxyStackSpec {
  return proxyStackSpec(loadManifests(dir));
}
