//go:build go1.25

package main

import "crypto/tls"

// negotiatedGroup is the key exchange group of a TLS connection (ConnectionState.CurveID, Go 1.25 and later).
func negotiatedGroup(state tls.ConnectionState) string {
	if state.CurveID == 0 {
		return ""
	}
	return state.CurveID.String()
}
