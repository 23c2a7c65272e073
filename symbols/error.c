/* SPDX-License-Identifier: MIT */
/* Error codes, their messages, and formatting of error context. */
#include <stdio.h>
#include <string.h>

#include "ftprof/error.h"

#define FTP_ERROR_MSG(name, msg) msg,
static const char *const messages[] = { FTP_ERRORS(FTP_ERROR_MSG) };
#undef FTP_ERROR_MSG

const char *ftp_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= FTP_E_COUNT)
		return "unknown error";
	return messages[code];
}

int ftp_error_vset(struct ftp_error *err, int code, int sys_errno, const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	if (!err)
		return -code;
	err->code = code;
	err->sys_errno = sys_errno;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (sys_errno && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(sys_errno));
	return -code;
}

int ftp_error_set(struct ftp_error *err, int code, int sys_errno, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = ftp_error_vset(err, code, sys_errno, fmt, ap);
	va_end(ap);
	return ret;
}

int ftp_error_wrap(struct ftp_error *err, const char *fmt, ...)
{
	if (!err)
		return -FTP_E_INVAL;
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t n = strlen(prefix);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	size_t room = sizeof(err->msg) - n - 3, len = strlen(old);
	if (len > room)
		len = room;
	memcpy(err->msg + n + 2, old, len);
	err->msg[n + 2 + len] = '\0';
	return -err->code;
}
