/* SPDX-License-Identifier: MIT */
/* Declarations shared between the files of symbols/, not part of its interface. */
#ifndef FTPROF_SYMBOLS_INT_H
#define FTPROF_SYMBOLS_INT_H

#include "ftprof/symbols.h"

/* Fills the fields of L that _Py_DebugOffsets of 3.13+ does not carry (or
 * not in every minor) from the built-in table of minor (the newest known
 * one for a newer minor) and the build's free_threaded. Fields a table
 * leaves FTP_OFF_NONE come from the blob. */
void symbols_layout_beyond_blob(struct ftp_layout *L, unsigned minor, bool free_threaded);
/* The offsets the waits read (docs/states.md), set for every version. */
void symbols_layout_waits(struct ftp_layout *L, unsigned minor, bool free_threaded);

#endif
