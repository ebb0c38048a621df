//go:build !go1.25

package main

import "crypto/tls"

// negotiatedGroup cannot tell the key exchange group before Go 1.25 (no ConnectionState.CurveID).
func negotiatedGroup(tls.ConnectionState) string {
	return ""
}
