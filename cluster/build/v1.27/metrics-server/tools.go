//go:build tools

// Package tools pins the metrics-server main package this wrapper module builds, so `go mod tidy` keeps its
// dependencies.
package tools

import (
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
