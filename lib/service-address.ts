/** The default DNS domain of a Kubernetes cluster (kubelet `--cluster-domain`). */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The namespace objects go to when neither the chart nor the object names one. */
export const DEFAULT_NAMESPACE = 'default';

/**
 * Where a Service answers inside the cluster. Constructs hand this object to each other (for example
 * `NumberCrunchApp.address` to `ReverseProxy.upstream`), so a host name is never typed by hand and a renamed Service
 * or another namespace flows through to every user.
 */
export interface ServiceAddress {
  /** Name of the Service. */
  readonly serviceName: string;
  /** Namespace of the Service. */
  readonly namespace: string;
  /** Cluster DNS domain. */
  readonly clusterDomain: string;
  /** The Service's fully qualified DNS name: `<service>.<namespace>.svc.<cluster domain>`. */
  readonly fqdn: string;
  /** The Service port. */
  readonly port: number;
}

/** Builds a `ServiceAddress`; the FQDN is computed here and nowhere else. */
export function serviceAddress(
  serviceName: string,
  namespace: string,
  port: number,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): ServiceAddress {
  return { serviceName, namespace, clusterDomain, port, fqdn: `${serviceName}.${namespace}.svc.${clusterDomain}` };
}

/** Makes `ServiceAddress` values (a jsii struct cannot carry a factory). */
export class ServiceAddresses {
  /**
   * The address of Service `serviceName` in `namespace` on `port`, for a `ReverseProxy` in front of a Service that is
   * not a `NumberCrunchApp`. The FQDN is `<serviceName>.<namespace>.svc.<clusterDomain>`.
   * @param clusterDomain the cluster's DNS domain; default 'cluster.local'
   */
  public static of(serviceName: string, namespace: string, port: number, clusterDomain?: string): ServiceAddress {
    return serviceAddress(serviceName, namespace, port, clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
  }

  private constructor() {}
}
