/* SPDX-License-Identifier: MIT */
/* Error codes shared by every module, and the struct that carries their context. */
#ifndef FTPROF_ERROR_H
#define FTPROF_ERROR_H

#include <stdarg.h>

/* One list, so that codes and messages cannot drift apart. */
#define FTP_ERRORS(X)                                              \
	X(OK, "success")                                           \
	X(NOMEM, "out of memory")                                  \
	X(INVAL, "invalid argument")                               \
	X(NOPROC, "no such process")                               \
	X(PERM, "permission denied")                               \
	X(EXITED, "target process has exited")                     \
	X(NOTPYTHON, "not a Python process")                       \
	X(UNSUPPORTED, "unsupported Python version")               \
	X(ELF, "cannot read ELF file")                             \
	X(DWARF, "cannot read DWARF debug information")            \
	X(READ, "cannot read target memory")                       \
	X(TORN, "inconsistent data read from a running target")    \
	X(LAYOUT, "interpreter layout does not match the process") \
	X(CORRUPT, "malformed data")                               \
	X(NOTFOUND, "not found")                                   \
	X(IO, "input/output error")                                \
	X(INTERRUPTED, "interrupted")                              \
	X(EXEC, "target process replaced its program (exec)")

#define FTP_ERROR_ENUM(name, msg) FTP_E_##name,
enum ftp_err { FTP_ERRORS(FTP_ERROR_ENUM) FTP_E_COUNT };
#undef FTP_ERROR_ENUM

/* Context of the last failure: the code, errno saved at the point of failure
 * (0 if none), and a message naming the call and the object. */
struct ftp_error {
	int code;
	int sys_errno;
	char msg[512];
};

/* Returns the static message of an error code; codes may be given negated. */
const char *ftp_strerror(int code);

/* Fills err (NULL ok) and returns -code, so that callers can write
 * `return ftp_error_set(err, FTP_E_READ, errno, "read %s", what);`.
 * The message is printf-formatted; ": <strerror(sys_errno)>" is appended when
 * sys_errno is nonzero. */
int ftp_error_set(struct ftp_error *err, int code, int sys_errno, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
int ftp_error_vset(struct ftp_error *err, int code, int sys_errno, const char *fmt, va_list ap);

/* Prefixes the existing message with more context ("reading thread 42: ...").
 * Returns -err->code. */
int ftp_error_wrap(struct ftp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
