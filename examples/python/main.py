#!/usr/bin/env python
# The "shop" chart: a calculator behind nginx and a load balancer, in namespace `shop`.
from cdk8s import App, Chart
from cdk8s_plus_27 import ImagePullPolicy
from number_crunch_cdk8s import (
    AutoscalingProps,
    ExternalTrafficPolicy,
    LoadBalancedService,
    NginxTuningProps,
    NumberCrunchApp,
    ReverseProxy,
)

app = App()
chart = Chart(app, "shop", namespace="shop")

calc = NumberCrunchApp(
    chart, "Calc",
    name="calc",
    image="registry.example.com/calc:1.4.0",
    image_pull_policy=ImagePullPolicy.ALWAYS,
    autoscaling=AutoscalingProps(max_replicas=4),
)
# The upstream is the app's address, so a rename or another namespace flows through to nginx.
edge = ReverseProxy(chart, "Edge", name="calc-proxy", upstream=calc.address, nginx=NginxTuningProps(worker_connections=2048))
LoadBalancedService(
    chart, "Public",
    name="calc-public",
    target=edge,
    external_traffic_policy=ExternalTrafficPolicy.LOCAL,
    load_balancer_source_ranges=["10.0.0.0/8"],
    annotations={"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
)

app.synth()
