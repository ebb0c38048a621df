//go:build tools

// Package tools pins the kube-router main package this wrapper module builds, so `go mod tidy` keeps its dependencies.
package tools

import (
	_ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
)
