// CoreDNS v1.10.1 with only the plugins the test cluster's Corefile uses: upstream's own way of choosing plugins at
// compile time (a main package that imports coremain and the wanted plugins). Leaving out the cloud-provider plugins
// (route53, azure, clouddns, ...) keeps the first build short; the DNS behaviour comes from the same plugin code.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func init() {
	// The same relative order as upstream's core/dnsserver/zdirectives.go, restricted to the plugins above.
	dnsserver.Directives = []string{
		"reload", "ready", "health", "errors", "log", "loadbalance", "cache", "kubernetes", "loop",
	}
}

func main() {
	coremain.Run()
}
