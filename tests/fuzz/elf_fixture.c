/* SPDX-License-Identifier: MIT */
/* A small program shaped like an interpreter binary, compiled with -g at test
 * time into seeds of the ELF/DWARF fuzz target: types named like CPython's
 * (nested, anonymous, bit-fields, typedef and qualifier chains), a .PyRuntime
 * section, the symbols the probe looks up, and a few functions. */
#include <stddef.h>
#include <stdint.h>

struct _ts;
struct _is;

typedef struct _ts PyThreadState;
typedef struct _is PyInterpreterState;

struct _PyCFrame {
	void *current_frame;
	struct _PyCFrame *previous;
};

struct _ts {
	struct _ts *prev;
	struct _ts *next;
	PyInterpreterState *interp;
	struct {
		unsigned int initialized : 1;
		unsigned int bound : 1;
		unsigned int active : 1;
	} _status;
	struct _PyCFrame *cframe;
	const volatile unsigned long thread_id;
	unsigned long native_thread_id;
};

struct _gil_runtime_state {
	unsigned long interval;
	PyThreadState *last_holder;
	int locked;
};

struct _is {
	struct _is *next;
	int64_t id;
	struct pythreads {
		uint64_t next_unique_id;
		PyThreadState *head;
		PyThreadState *main;
	} threads;
	union {
		struct {
			struct _gil_runtime_state *gil;
			int own_gil;
		} ceval;
		char pad[64];
	};
};

typedef struct pyruntimestate {
	int initialized;
	struct pyinterpreters {
		void *mutex;
		PyInterpreterState *head;
		PyInterpreterState *main;
	} interpreters;
} _PyRuntimeState;

typedef struct {
	void *previous;
	void *f_executable;
	uint16_t *instr_ptr;
	char owner;
} _PyInterpreterFrame;

typedef struct {
	intptr_t ob_refcnt;
	void *ob_type;
	intptr_t ob_size;
	int co_firstlineno;
	void *co_linetable;
	char co_code_adaptive[1];
} PyCodeObject;

typedef struct {
	intptr_t ob_refcnt;
	void *ob_type;
	intptr_t length;
	intptr_t hash;
	struct {
		unsigned int interned : 2;
		unsigned int kind : 3;
		unsigned int compact : 1;
		unsigned int ascii : 1;
	} state;
} PyASCIIObject;

union u {
	int64_t w;
	const char *s;
};

typedef struct _Py_DebugOffsets {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	struct {
		uint64_t size;
		uint64_t native_thread_id;
	} thread_state;
} _Py_DebugOffsets;

typedef const _Py_DebugOffsets cdbg;
typedef volatile cdbg vcdbg;

struct runtime_image {
	_Py_DebugOffsets debug_offsets;
	_PyRuntimeState state;
};

__attribute__((section(".PyRuntime"), used)) struct runtime_image _PyRuntime = {
	{ "xdebugpy", 0x030d00f0, 0, { sizeof(PyThreadState), offsetof(PyThreadState, native_thread_id) } },
	{ 1, { 0, 0, 0 } },
};

const unsigned long Py_Version = 0x030d00f0;
const char version[] = "3.13.0 (fixture)";
int PyCode_Type, PyUnicode_Type, PyLong_Type;
vcdbg *volatile debug_ref = &_PyRuntime.debug_offsets;
union u u_ref;

int fixture_size(PyInterpreterState *is, _PyInterpreterFrame *f, PyCodeObject *co, PyASCIIObject *s);

int fixture_size(PyInterpreterState *is, _PyInterpreterFrame *f, PyCodeObject *co, PyASCIIObject *s)
{
	return (int)(sizeof(*is) + sizeof(*f) + sizeof(*co) + sizeof(*s)) + (is->threads.head != 0);
}

int main(void)
{
	static PyInterpreterState is;
	return fixture_size(&is, 0, 0, 0) + (int)u_ref.w > 0 ? 0 : 1;
}
