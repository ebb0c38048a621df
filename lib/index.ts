// The package's public API (a jsii assembly: also the Python and Go API). Only what a consumer composes or passes is
// exported here; helpers (validation, labels, names, the secure Deployment builder, defaults) stay internal to lib/
// and are imported by path inside this project (main.ts, validation/, tests).
export { ExternalTrafficPolicy, LoadBalancedService, type LoadBalancedServiceProps, type LoadBalancerOptions } from './load-balanced-service';
export { ProxyNetworkPolicies, type ProxyNetworkPoliciesProps } from './network-policies';
export { NginxConf, type NginxConfOptions } from './nginx-conf';
export {
  NumberCrunchApp, type NumberCrunchAppOptions, type NumberCrunchAppProps, type NumberCrunchAutoscalingProps,
} from './number-crunch-app';
export { NumberCrunchChart, type NumberCrunchChartProps } from './number-crunch-chart';
export { type NginxTuningProps, ReverseProxy, type ReverseProxyOptions, type ReverseProxyProps } from './reverse-proxy';
export { type WorkloadOptions, type WorkloadProps } from './secure-deployment';
export { type ServiceAddress, ServiceAddresses } from './service-address';
