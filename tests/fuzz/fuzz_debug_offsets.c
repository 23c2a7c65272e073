/* SPDX-License-Identifier: MIT */
/* libFuzzer target: ftp_layout_from_debug_offsets on arbitrary blobs.
 *
 * The input is the blob, read from the start of libFuzzer's exact-size
 * buffer. A blob that parses must keep the parser's promises: every offset
 * the walker reads lies inside the struct it belongs to, and the layout passes
 * ftp_layout_check(). */
#include <stdlib.h>
#include <string.h>

#include "ftprof/symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(uint32_t off, uint32_t size, uint32_t width)
{
	if (off == FTP_OFF_NONE)
		return;
	if (size == FTP_OFF_NONE || width > size || off > size - width)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftp_layout L;
	struct ftp_error err = { 0 };
	int ret = ftp_layout_from_debug_offsets(&L, data, size, &err);
	if (ret < 0) {
		if (ret != -FTP_E_NOTPYTHON && ret != -FTP_E_UNSUPPORTED && ret != -FTP_E_CORRUPT)
			abort();
		if (err.code != -ret || strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
			abort();
		return 0;
	}
	if (ret != 0 || !L.from_debug_offsets || (L.version >> 24) != 3 || ((L.version >> 16) & 0xff) < 13)
		abort();
	inside(L.runtime.interpreters_head, L.runtime.size, 8);
	inside(L.interp.next, L.interp.size, 8);
	inside(L.interp.threads_head, L.interp.size, 8);
	inside(L.interp.threads_main, L.interp.size, 8);
	inside(L.interp.modules, L.interp.size, 8);
	inside(L.interp.ceval_gil, L.interp.size, 8);
	inside(L.tstate.next, L.tstate.size, 8);
	inside(L.tstate.interp, L.tstate.size, 8);
	inside(L.tstate.frame, L.tstate.size, 8);
	inside(L.tstate.thread_id, L.tstate.size, 8);
	inside(L.tstate.native_thread_id, L.tstate.size, 8);
	inside(L.frame.previous, L.frame.size, 8);
	inside(L.frame.code, L.frame.size, 8);
	inside(L.frame.instr, L.frame.size, 8);
	inside(L.frame.owner, L.frame.size, 1);
	inside(L.frame.tlbc_index, L.frame.size, 4);
	inside(L.code.filename, L.code.size, 8);
	inside(L.code.name, L.code.size, 8);
	inside(L.code.qualname, L.code.size, 8);
	inside(L.code.linetable, L.code.size, 8);
	inside(L.code.firstlineno, L.code.size, 4);
	inside(L.code.tlbc, L.code.size, 8);
	if (ftp_layout_check(&L, NULL) != 0)
		abort();
	return 0;
}
