/* SPDX-License-Identifier: MIT */
/* The input of the walker fuzz target, shared by the target and the program
 * that writes its seeds. All numbers are little-endian.
 *
 *   offset  size  field
 *   0       1     version: 0-4 is the built-in layout of 3.8-3.12; anything
 *                 else takes the layout from the _Py_DebugOffsets blob at
 *                 `runtime` in the fake memory
 *   1       1     flags, WALKER_F_*
 *   2       1     max_depth - 1, taken modulo 64
 *   3       1     rounds - 1, taken modulo WALKER_MAX_ROUNDS
 *   4       4     pid
 *   8       8     runtime: &_PyRuntime
 *   16      32    type addresses: PyCode_Type, PyUnicode_Type, PyBytes_Type,
 *                 PyDict_Type
 *   48      1     number of tasks, modulo WALKER_MAX_TASKS + 1
 *   49      1     the callback stops a round after this many samples (0: never)
 *   50      14    reserved
 *   64            tasks, WALKER_TASK_SIZE bytes each: i32 tid, u8 state
 *                 letter, u8 in_syscall, u16 system call number, u64 its
 *                 first argument
 *   ...           segments up to the end: u64 address, u16 length, u8 round,
 *                 then length bytes. A segment maps the pages it touches and
 *                 writes its bytes there before round `round & 0x7f`; with
 *                 WALKER_SEG_UNMAP set in round, it unmaps those pages instead
 *                 (and has no bytes).
 */
#ifndef FTPROF_FUZZ_WALKER_INPUT_H
#define FTPROF_FUZZ_WALKER_INPUT_H

#define WALKER_HEADER_SIZE 64
#define WALKER_TASK_SIZE 16
#define WALKER_SEG_HEADER 11
#define WALKER_MAX_TASKS 16
#define WALKER_MAX_ROUNDS 4
#define WALKER_BUILTIN_VERSIONS 5 /* 3.8 to 3.12 */
#define WALKER_VERSION_BLOB 0xff
#define WALKER_SEG_UNMAP 0x80

#define WALKER_F_THREAD_NAMES (1u << 0) /* opts.thread_names */
#define WALKER_F_IOV_WHOLE (1u << 1)    /* partial reads end at an iovec boundary */
#define WALKER_F_NO_TYPES (1u << 2)     /* type addresses unknown (0) */

#endif
