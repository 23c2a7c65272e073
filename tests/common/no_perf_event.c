/* SPDX-License-Identifier: MIT */
/* An LD_PRELOAD shim for tests: perf_event_open fails with EACCES, as on a
 * kernel or container that refuses it; every other system call passes. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

long syscall(long nr, ...);

long syscall(long nr, ...)
{
	static long (*next)(long, ...);
	if (nr == SYS_perf_event_open) {
		errno = EACCES;
		return -1;
	}
	if (!next)
		*(void **)&next = dlsym(RTLD_NEXT, "syscall");
	va_list ap;
	va_start(ap, nr);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long); /* a system call takes at most six */
	va_end(ap);
	return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
