//go:build tools

// Package tools pins the MetalLB main packages this wrapper module builds, so `go mod tidy` keeps their dependencies.
package tools

import (
	_ "go.universe.tf/metallb/controller"
	_ "go.universe.tf/metallb/speaker"
)
