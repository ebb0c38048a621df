// The "shop" chart: a calculator behind nginx and a load balancer, in namespace `shop`.
import { App, Chart } from 'cdk8s';
import { ImagePullPolicy } from 'cdk8s-plus-27';
import { ExternalTrafficPolicy, LoadBalancedService, NumberCrunchApp, ReverseProxy } from 'number-crunch-cdk8s';

const app = new App();
const chart = new Chart(app, 'shop', { namespace: 'shop' });

const calc = new NumberCrunchApp(chart, 'Calc', {
  name: 'calc',
  image: 'registry.example.com/calc:1.4.0',
  imagePullPolicy: ImagePullPolicy.ALWAYS,
  autoscaling: { maxReplicas: 4 },
});
// The upstream is the app's address, so a rename or another namespace flows through to nginx.
const edge = new ReverseProxy(chart, 'Edge', { name: 'calc-proxy', upstream: calc.address, nginx: { workerConnections: 2048 } });
new LoadBalancedService(chart, 'Public', {
  name: 'calc-public',
  target: edge,
  externalTrafficPolicy: ExternalTrafficPolicy.LOCAL,
  loadBalancerSourceRanges: ['10.0.0.0/8'],
  annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
});

app.synth();
