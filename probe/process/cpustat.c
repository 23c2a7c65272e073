/* SPDX-License-Identifier: MIT */
/* Each CPU's busy and total time, from /proc/stat: the machine as a whole,
 * whatever runs on it, for per-core utilization beside the target's share. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftprof/probe.h"

/* "cpuN user nice system idle iowait irq softirq steal ..." */
static bool parse_cpu_line(const char *line, unsigned *cpu, struct ftp_cpu_time *t)
{
	char *end;
	unsigned long n = strtoul(line + 3, &end, 10);
	if (end == line + 3 || *end != ' ')
		return false;
	uint64_t v[8] = { 0 };
	const char *q = end;
	for (int i = 0; i < 8; i++) {
		v[i] = strtoull(q, &end, 10);
		if (end == q)
			break;
		q = end;
	}
	/* guest time is counted in user already */
	uint64_t idle = v[3] + v[4];
	t->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	t->busy = t->total - idle;
	*cpu = (unsigned)n;
	return true;
}

int ftp_cpu_times(struct ftp_cpu_time *cpus, unsigned max, struct ftp_error *err)
{
	int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ftp_error_set(err, FTP_E_IO, errno, "open /proc/stat");
	/* a line per CPU, under 128 bytes each: 64 KiB holds 512 CPUs */
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return ftp_error_set(err, FTP_E_NOMEM, 0, "reading /proc/stat");
	}
	for (;;) {
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break; /* what was read is enough for the first CPUs */
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return ftp_error_set(err, FTP_E_IO, e, "read /proc/stat");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	memset(cpus, 0, max * sizeof(*cpus));
	unsigned filled = 0;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		unsigned cpu;
		struct ftp_cpu_time t;
		if (strncmp(line, "cpu", 3) == 0 && parse_cpu_line(line, &cpu, &t) && cpu < max) {
			cpus[cpu] = t;
			if (cpu + 1 > filled)
				filled = cpu + 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(buf);
	if (!filled)
		return ftp_error_set(err, FTP_E_CORRUPT, 0, "/proc/stat lists no CPU");
	return (int)filled;
}
