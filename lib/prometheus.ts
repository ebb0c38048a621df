/** Name of a container port that serves Prometheus metrics. */
export const METRICS_PORT_NAME = 'metrics';

/**
 * The pod-template annotations by which Prometheus's common `kubernetes-pods` scrape configuration (and the Prometheus
 * community Helm chart's) finds a pod's metrics: scrape it, on `port`, at `path`.
 * @see https://github.com/prometheus-community/helm-charts/tree/main/charts/prometheus#scraping-pod-metrics-via-annotations
 */
export function scrapeAnnotations(port: number, path: string): { [key: string]: string } {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path };
}
