// The "shop" chart: a calculator behind nginx and a load balancer, in namespace `shop`.
package main

import (
	"github.com/aws/jsii-runtime-go"
	"github.com/cdk8s-team/cdk8s-core-go/cdk8s/v2"
	"github.com/cdk8s-team/cdk8s-plus-go/cdk8splus27/v2"
	nc "github.com/number-crunch/number-crunch-cdk8s-go/numbercrunchcdk8s"
)

func main() {
	app := cdk8s.NewApp(nil)
	chart := cdk8s.NewChart(app, jsii.String("shop"), &cdk8s.ChartProps{Namespace: jsii.String("shop")})

	calc := nc.NewNumberCrunchApp(chart, jsii.String("Calc"), &nc.NumberCrunchAppProps{
		Name:            jsii.String("calc"),
		Image:           jsii.String("registry.example.com/calc:1.4.0"),
		ImagePullPolicy: cdk8splus27.ImagePullPolicy_ALWAYS,
		Autoscaling:     &nc.AutoscalingProps{MaxReplicas: jsii.Number(4)},
	})
	// The upstream is the app's address, so a rename or another namespace flows through to nginx.
	edge := nc.NewReverseProxy(chart, jsii.String("Edge"), &nc.ReverseProxyProps{
		Name:     jsii.String("calc-proxy"),
		Upstream: calc.Address(),
		Nginx:    &nc.NginxTuningProps{WorkerConnections: jsii.Number(2048)},
	})
	nc.NewLoadBalancedService(chart, jsii.String("Public"), &nc.LoadBalancedServiceProps{
		Name:                     jsii.String("calc-public"),
		Target:                   edge,
		ExternalTrafficPolicy:    nc.ExternalTrafficPolicy_LOCAL,
		LoadBalancerSourceRanges: jsii.Strings("10.0.0.0/8"),
		Annotations:              &map[string]*string{"service.beta.kubernetes.io/aws-load-balancer-type": jsii.String("nlb")},
	})

	app.Synth()
}
