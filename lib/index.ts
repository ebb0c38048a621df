// The package's public API (a jsii assembly: also the Python and Go API). Helpers (validation, labels, names, the
// hardened Deployment builder, nginx.conf rendering, defaults) stay internal to lib/.
export { ExternalTrafficPolicy, LoadBalancedService, type LoadBalancedServiceProps } from './load-balanced-service';
export { ProxyNetworkPolicies, type ProxyNetworkPoliciesProps } from './network-policies';
export { type AutoscalingProps, NumberCrunchApp, type NumberCrunchAppProps } from './number-crunch-app';
export { NumberCrunchChart, type NumberCrunchChartProps } from './number-crunch-chart';
export {
  type CertificateIssuerRef, type ClientLimitsProps, type NginxTuningProps, type ProxyCertificateProps, type ProxyTlsProps,
  ReverseProxy, type ReverseProxyProps,
} from './reverse-proxy';
export { type ServiceAddress, ServiceAddresses } from './service-address';
export { type IWorkload, type WorkloadProps } from './workload';
