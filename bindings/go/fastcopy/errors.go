package fastcopy

/*
#include "fastcopy.h"
*/
import "C"

import (
	"errors"
	"io/fs"
	"strconv"
	"syscall"
)

// Code is the library's stable error code. The same values are the
// FASTCOPY_ERROR_* constants of the C header.
type Code int32

// The codes. A new library version may add codes; treat unknown ones like
// CodeOther.
const (
	CodeOther            Code = C.FASTCOPY_ERROR_OTHER
	CodeNotFound         Code = C.FASTCOPY_ERROR_NOT_FOUND
	CodePermissionDenied Code = C.FASTCOPY_ERROR_PERMISSION_DENIED
	CodeAlreadyExists    Code = C.FASTCOPY_ERROR_ALREADY_EXISTS
	CodeSameFile         Code = C.FASTCOPY_ERROR_SAME_FILE
	CodeNotSupported     Code = C.FASTCOPY_ERROR_NOT_SUPPORTED
	CodeInvalidArgument  Code = C.FASTCOPY_ERROR_INVALID_ARGUMENT
	CodeNotRegular       Code = C.FASTCOPY_ERROR_NOT_A_FILE
	CodeNoSpace          Code = C.FASTCOPY_ERROR_NO_SPACE
	CodeInternal         Code = C.FASTCOPY_ERROR_INTERNAL
)

// String returns the code's name as in the C header, e.g. "NOT_FOUND".
func (c Code) String() string {
	name := C.GoString(C.fastcopy_status_name(C.int32_t(c)))
	if name == "UNKNOWN" {
		return "Code(" + strconv.Itoa(int(c)) + ")"
	}
	return name
}

// Errors of this package that have no counterpart in io/fs, for errors.Is.
var (
	// ErrSameFile: source and target are the same file; nothing was
	// written.
	ErrSameFile = errors.New("source and target are the same file")
	// ErrNotSupported: what was asked cannot be done on this filesystem,
	// e.g. ReflinkAlways where no clone can be made.
	ErrNotSupported = errors.New("not supported")
	// ErrNotRegular: the source is not a regular file (a directory, FIFO,
	// socket or device), or the target is a directory or special file
	// that will not be replaced.
	ErrNotRegular = errors.New("not a regular file")
	// ErrNoSpace: the target's filesystem is full or the quota is
	// exhausted.
	ErrNoSpace = errors.New("no space left")
)

// Error is the error of a failed copy. Its message names the operation and
// the path. errors.Is matches it against the io/fs error for its code
// (fs.ErrNotExist, fs.ErrPermission, fs.ErrExist, fs.ErrInvalid) or this
// package's (ErrSameFile, ErrNotSupported, ErrNotRegular, ErrNoSpace), and
// through Unwrap against the system's syscall.Errno when there is one.
//
// Note that os.IsNotExist and os.IsExist, which predate errors.Is, look
// only inside *fs.PathError and so do not recognise it: use
// errors.Is(err, fs.ErrNotExist) and errors.Is(err, fs.ErrExist).
type Error struct {
	// Code is the library's stable error code.
	Code Code
	// Errno is the system's error number (errno, or the Win32 error code
	// on Windows), 0 when the system gave none (e.g. for ErrSameFile).
	Errno syscall.Errno
	// Message names the operation and the path, e.g.
	// "cannot open source '/x': No such file or directory (os error 2)".
	Message string
}

// Error returns the message.
func (e *Error) Error() string {
	return e.Message
}

// Unwrap returns the system's error number when there is one, otherwise
// the sentinel error for the code (nil for CodeOther and CodeInternal).
func (e *Error) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return e.sentinel()
}

// Is reports whether target is the io/fs or package sentinel error for the
// code, so that errors.Is works whether or not the system gave an error
// number.
func (e *Error) Is(target error) bool {
	s := e.sentinel()
	return s != nil && target == s
}

func (e *Error) sentinel() error {
	switch e.Code {
	case CodeNotFound:
		return fs.ErrNotExist
	case CodePermissionDenied:
		return fs.ErrPermission
	case CodeAlreadyExists:
		return fs.ErrExist
	case CodeSameFile:
		return ErrSameFile
	case CodeNotSupported:
		return ErrNotSupported
	case CodeInvalidArgument:
		return fs.ErrInvalid
	case CodeNotRegular:
		return ErrNotRegular
	case CodeNoSpace:
		return ErrNoSpace
	}
	return nil
}

// errorFromC turns a filled FastcopyError into an *Error and frees its
// message.
func errorFromC(e *C.FastcopyError) *Error {
	defer C.fastcopy_error_free(e)
	msg := "fastcopy: unknown error"
	if e.message != nil {
		msg = C.GoString(e.message)
	}
	return &Error{
		Code:    Code(e.code),
		Errno:   syscall.Errno(uint32(e.os_error)),
		Message: msg,
	}
}
