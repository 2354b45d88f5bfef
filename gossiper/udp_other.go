//go:build !linux

package gossiper

import "net"

func forceBuffers(*net.UDPConn, int) {}

func readBuffer(*net.UDPConn) int { return 0 }
