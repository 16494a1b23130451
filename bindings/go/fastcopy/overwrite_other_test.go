//go:build !linux && !darwin

package fastcopy

const runtimeIsUnix = false
