//go:build !linux && !darwin

package fastcopy

import "io/fs"

type fileID struct{}

// Hard links are not recognised here: every name is copied as a file.
func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }
func linkCount(fs.FileInfo) uint64    { return 1 }
func setOwner(string, fs.FileInfo)    {}
func mkfifo(string, uint32) error     { return ErrNotSupported }
func umask() uint32                   { return 0 }
