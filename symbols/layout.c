/* SPDX-License-Identifier: MIT */
/* Helpers about versions shared by the layout sources. */
#include <stdio.h>

#include "ftprof/symbols.h"

char *ftp_version_str(uint32_t version, char *buf, size_t len)
{
	unsigned major = (version >> 24) & 0xff, minor = (version >> 16) & 0xff;
	unsigned micro = (version >> 8) & 0xff, level = (version >> 4) & 0xf, serial = version & 0xf;
	static const char *const levels[] = { [0xa] = "a", [0xb] = "b", [0xc] = "rc" };
	if (level >= 0xa && level <= 0xc)
		snprintf(buf, len, "%u.%u.%u%s%u", major, minor, micro, levels[level], serial);
	else
		snprintf(buf, len, "%u.%u.%u", major, minor, micro);
	return buf;
}
