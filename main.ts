import { App } from 'cdk8s';
import { NumberCrunchChart } from './lib';

// The tutorial's microk8s setup: everything in the `default` namespace, the image `number-crunch:local` imported
// into the cluster, MetalLB handing the load balancer an address from its default pool.
const app = new App();
new NumberCrunchChart(app, 'number-crunch');
app.synth();
