/* SPDX-License-Identifier: MIT */
/* Thread names from the threading module's _active dict. */
#include <stdlib.h>

#include "probe_int.h"

void probe_names_refresh(struct ftp_probe *p, uint64_t interp)
{
	(void)p;
	(void)interp;
}

const char *probe_names_get(const struct ftp_probe *p, uint64_t thread_id)
{
	for (size_t i = 0; i < p->nnames; i++)
		if (p->names[i].thread_id == thread_id)
			return p->names[i].name;
	return NULL;
}

void probe_names_release(struct ftp_probe *p)
{
	free(p->names);
	p->names = NULL;
	p->nnames = 0;
}
