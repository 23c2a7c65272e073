/* SPDX-License-Identifier: MIT */
/* symbols/: what ftprof knows about interpreter binaries and CPython's data
 * formats. Everything here takes file paths or byte buffers, never a pid. */
#ifndef FTPROF_SYMBOLS_H
#define FTPROF_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftprof/error.h"

/* ---- ELF ------------------------------------------------------------ */

struct ftp_elf; /* opaque: one opened ELF file */

/* Opens path read-only and checks it is a 64-bit little-endian x86-64 or
 * aarch64 ELF file. Returns 0 and stores a handle the caller must
 * ftp_elf_destroy(), or a negative FTP_E_* with err filled. */
int ftp_elf_create(struct ftp_elf **out, const char *path, struct ftp_error *err);
/* The same for an ELF image in memory (the vDSO a process maps), copied;
 * name says what it is in messages. */
int ftp_elf_create_image(struct ftp_elf **out, const char *name, const void *image, size_t len,
                         struct ftp_error *err);
void ftp_elf_destroy(struct ftp_elf *elf); /* NULL ok */

/* Looks name up in .dynsym, then .symtab. Stores the symbol's link-time
 * value and size. Returns 0, or -FTP_E_NOTFOUND. */
int ftp_elf_symbol(const struct ftp_elf *elf, const char *name, uint64_t *addr, uint64_t *size);

/* Finds a section by name; stores its sh_addr and sh_size.
 * Returns 0, or -FTP_E_NOTFOUND. */
int ftp_elf_section(const struct ftp_elf *elf, const char *name, uint64_t *addr, uint64_t *size);

/* The lowest p_vaddr of the PT_LOAD segments, rounded down to the page:
 * load bias = (start of the mapping at file offset 0) - this. */
uint64_t ftp_elf_base_vaddr(const struct ftp_elf *elf);

/* True for ET_DYN (PIE or shared object), false for ET_EXEC. */
bool ftp_elf_is_dyn(const struct ftp_elf *elf);

/* A function symbol: what an address was symbolized to. */
struct ftp_elf_func {
	const char *name; /* lent until ftp_elf_destroy(); see name_len */
	size_t name_len;  /* of the name without a version suffix: .symtab names
	                     glibc's versioned definitions "memcpy@@GLIBC_2.14" */
	uint64_t start;   /* link-time address */
	uint64_t size;
};

/* Symbolizes a link-time address (a run-time one less the load bias): of the
 * functions of nonzero size in .symtab (in .dynsym when the file has no
 * .symtab) whose range holds addr, the one with the strongest binding
 * (global, weak, local), then the one that starts last. Returns 0 and fills
 * out, -FTP_E_NOTFOUND, or -FTP_E_NOMEM. The first call indexes the
 * functions, later ones search that index: not thread-safe. */
int ftp_elf_addr_symbol(struct ftp_elf *elf, uint64_t addr, struct ftp_elf_func *out);

/* Builds the index ftp_elf_addr_symbol() would build on its first call, now
 * (a caller that must not wait later, the probe with its target stopped).
 * Returns 0 or -FTP_E_NOMEM. */
int ftp_elf_index_functions(struct ftp_elf *elf);

/* ---- DWARF ----------------------------------------------------------- */

/* The tests call these today: they check every built-in layout, and the
 * _Py_DebugOffsets parser, against the DWARF of real builds. The probe will
 * read what _Py_DebugOffsets does not export this way. */
struct ftp_dwarf; /* opaque: DWARF of one ELF file */

/* Opens the DWARF of path (its .debug_info). Returns 0 or a negative FTP_E_*
 * (-FTP_E_NOTFOUND when the file has no debug information). */
int ftp_dwarf_create(struct ftp_dwarf **out, const char *path, struct ftp_error *err);
void ftp_dwarf_destroy(struct ftp_dwarf *dw); /* NULL ok */

/* Offset of a member in a struct or typedef'd struct, in bytes. member may
 * be a dotted path through nested structs and unions ("threads.head",
 * "ceval.gil"). Returns the offset (>= 0), or a negative FTP_E_*. */
long ftp_dwarf_member_offset(struct ftp_dwarf *dw, const char *type, const char *member);

/* sizeof of a struct or typedef. Returns the size (> 0) or a negative FTP_E_*. */
long ftp_dwarf_type_size(struct ftp_dwarf *dw, const char *type);

/* ---- Interpreter layout -------------------------------------------- */

#define FTP_OFF_NONE UINT32_MAX /* the field does not exist in this version */

/* How the version stores a thread's frames. */
enum ftp_frame_model {
	FTP_FRAMES_OBJECT = 1, /* 3.8-3.10: PyFrameObject chain through f_back */
	FTP_FRAMES_INTERP,     /* 3.11+: _PyInterpreterFrame chain through previous */
};

/* How the version stores line numbers. */
enum ftp_line_format {
	FTP_LINES_LNOTAB = 1, /* 3.8-3.9 co_lnotab */
	FTP_LINES_310,        /* 3.10 co_linetable */
	FTP_LINES_LOCATIONS,  /* 3.11+ location table */
};

/* What the frame's instruction field holds. */
enum ftp_instr_kind {
	FTP_INSTR_LASTI_BYTES = 1, /* 3.8-3.9: int f_lasti, a byte offset */
	FTP_INSTR_LASTI_UNITS,     /* 3.10: int f_lasti, in 2-byte code units */
	FTP_INSTR_POINTER,         /* 3.11+: pointer into the code's bytecode */
};

/* Offsets the walker needs, in bytes, from the start of each struct.
 * FTP_OFF_NONE where the version lacks the field. Plain data: copy freely. */
struct ftp_layout {
	uint32_t version;        /* PY_VERSION_HEX */
	bool free_threaded;      /* built with Py_GIL_DISABLED */
	bool from_debug_offsets; /* built from the target's _Py_DebugOffsets */
	enum ftp_frame_model frames;
	enum ftp_line_format lines;
	enum ftp_instr_kind instr;

	struct {
		uint32_t size;
		uint32_t interpreters_head;
		uint32_t gil;            /* <= 3.11: struct _gil_runtime_state */
		uint32_t tstate_current; /* <= 3.11: gilstate.tstate_current */
	} runtime;

	struct {
		uint32_t size;
		uint32_t next;
		uint32_t id;
		uint32_t threads_head;
		uint32_t threads_main;
		uint32_t modules;   /* modules (<= 3.11) or imports.modules */
		uint32_t ceval_gil; /* >= 3.12: pointer to struct _gil_runtime_state */
		uint32_t gc;        /* struct _gc_runtime_state */
	} interp;

	/* struct _gil_runtime_state, relative to its start */
	struct {
		uint32_t enabled; /* free-threaded builds only */
		uint32_t last_holder;
		uint32_t locked;
		uint32_t switch_number; /* counts takes by another thread than last_holder */
	} gil;

	uint32_t gc_collecting; /* in struct _gc_runtime_state */

	/* >= 3.13: interp->stoptheworld, and in it */
	struct {
		uint32_t interp_offset;
		uint32_t world_stopped; /* bool */
		uint32_t requester;     /* PyThreadState * */
	} stw;

	/* Modules/_threadmodule.c's objects and what waits on them read */
	struct {
		uint32_t object_head;     /* sizeof(PyObject): where an object's fields start */
		uint32_t ob_mutex;        /* free-threaded: PyObject.ob_mutex, a PyMutex */
		uint32_t lock_mutex;      /* >= 3.13: the PyMutex in a _thread.lock */
		uint32_t lock_sem;        /* <= 3.12: its sem_t * */
		uint32_t rlock_mutex;     /* >= 3.14: the PyMutex in a _thread.RLock */
		uint32_t rlock_sem;       /* <= 3.13: its sem_t * */
		uint32_t rlock_owner;     /* its owner's thread ident (0: none) */
		uint32_t cfunc_self;      /* PyCFunctionObject.m_self: a bound C method's object */
		uint32_t wait_entry_addr; /* parking lot (3.13+): the parked-on address,
					     before the entry's semaphore (the futex) */
	} threading;

	struct {
		uint32_t size;
		uint32_t prev;
		uint32_t next;
		uint32_t interp;
		uint32_t frame;                /* frame (<= 3.10), cframe (3.11-3.12), current_frame */
		uint32_t cframe_current_frame; /* 3.11-3.12: in _PyCFrame */
		uint32_t thread_id;
		uint32_t native_thread_id; /* >= 3.11 */
		uint32_t datastack_chunk;  /* >= 3.11 */
		uint32_t status;           /* >= 3.13: the _status bit-field word */
		uint32_t holds_gil;        /* >= 3.14: int holds_gil */
		uint32_t state;            /* >= 3.13: int: detached 0, attached 1, suspended 2 */
		uint32_t critical_section; /* free-threaded: the innermost held section, tagged */
		uint32_t datastack_top;    /* >= 3.11: the end of the innermost frame */
	} tstate;

	struct {
		uint32_t size;
		uint32_t previous;   /* f_back (<= 3.10) or previous */
		uint32_t code;       /* f_code, or f_executable (3.13+) */
		uint32_t instr;      /* f_lasti, prev_instr or instr_ptr */
		uint32_t owner;      /* >= 3.11, a char */
		uint32_t is_entry;   /* 3.11 only, a bool */
		uint32_t tlbc_index; /* free-threaded >= 3.14, an int32 */
		uint32_t localsplus; /* locals, then the value stack (f_localsplus <= 3.10) */
	} frame;
	uint64_t code_tag_mask; /* bits to clear from the code pointer */

	struct {
		uint32_t size;
		uint32_t filename;
		uint32_t name;
		uint32_t qualname;  /* >= 3.11 */
		uint32_t linetable; /* co_lnotab or co_linetable */
		uint32_t firstlineno;
		uint32_t code;         /* <= 3.10: co_code (bytes); else co_code_adaptive */
		uint32_t tlbc;         /* free-threaded >= 3.14: _PyCodeArray * */
		uint32_t tlbc_size;    /* in _PyCodeArray: how many entries */
		uint32_t tlbc_entries; /* in _PyCodeArray: the bytecode pointers */
	} code;

	struct {
		uint32_t ob_type;
		uint32_t tp_name;
		uint32_t tp_flags;
		uint32_t var_size;       /* PyVarObject.ob_size */
		uint32_t tp_basicsize;   /* in PyTypeObject */
		uint32_t tp_dictoffset;  /* in PyTypeObject */
		uint32_t ht_cached_keys; /* in PyHeapTypeObject */
		/* >= 3.11: how far before an object with a managed dict its
		 * dict pointer lies (3.12: the dict-or-values word) */
		uint32_t managed_dict_before;
		uint32_t managed_values_before; /* 3.11 only: the values pointer */
	} object;

	struct {
		uint32_t ob_item;
	} tuple, list;

	struct {
		uint32_t ma_keys;
		uint32_t ma_values;
	} dict;

	struct {
		uint32_t ob_sval;
	} bytes;

	struct {
		uint32_t md_dict; /* in PyModuleObject */
		uint32_t md_name; /* its name, a str */
	} module;

	struct {
		uint32_t qualname; /* func_qualname in PyFunctionObject, a str */
	} function;

	struct {
		uint32_t lv_tag;   /* ob_size (<= 3.11) or long_value.lv_tag */
		uint32_t ob_digit; /* ob_digit or long_value.ob_digit */
	} pylong;

	/* PyDictKeysObject, the table behind ma_keys */
	struct {
		uint32_t dk_size;             /* <= 3.10, a Py_ssize_t */
		uint32_t dk_log2_size;        /* >= 3.11, a uint8_t */
		uint32_t dk_log2_index_bytes; /* >= 3.11, a uint8_t */
		uint32_t dk_kind;             /* >= 3.11, a uint8_t */
		uint32_t dk_nentries;
		uint32_t dk_indices; /* the index table; the entries follow it */
	} dict_keys;

	/* PyDictKeyEntry {hash, key, value}; and (>= 3.11) PyDictUnicodeEntry
	 * {key, value} of the tables whose keys are all str */
	struct {
		uint32_t size;
		uint32_t me_key;
		uint32_t me_value;
	} dict_entry, dict_uentry;

	/* PyDictValues (>= 3.11), what ma_values and inline values point at;
	 * NONE before 3.11, where ma_values is the array itself */
	struct {
		uint32_t capacity; /* >= 3.13, a uint8_t */
		uint32_t valid;    /* >= 3.13, a uint8_t: 0 once a dict took them over */
		uint32_t values;   /* the array of values */
	} dict_values;

	struct {
		uint32_t length;
		uint32_t state;
		uint32_t ascii_size;   /* sizeof(PyASCIIObject) */
		uint32_t compact_size; /* sizeof(PyCompactUnicodeObject) */
		uint8_t kind_shift;    /* position of the 3-bit kind in state */
		uint8_t compact_bit;
		uint8_t ascii_bit;
	} unicode;
};

/* The probe copies the start of a struct of the target into a buffer of one
 * of these sizes and takes its fields from there by their offsets. Every
 * layout this module returns keeps each field of struct ftp_layout inside
 * both its struct's size and these spans (see ftp_layout_check). */
#define FTP_LAYOUT_TSTATE_SPAN 2048 /* PyThreadState */
#define FTP_LAYOUT_FRAME_SPAN 256   /* the frame: PyFrameObject or _PyInterpreterFrame */
#define FTP_LAYOUT_CODE_SPAN 1024   /* PyCodeObject */
#define FTP_LAYOUT_GIL_SPAN 256     /* struct _gil_runtime_state */
#define FTP_LAYOUT_OBJECT_SPAN 32   /* PyObject: ob_type + 8 */
#define FTP_LAYOUT_KEYS_SPAN 40     /* PyDictKeysObject up to dk_indices */
#define FTP_LAYOUT_LONG_SPAN 48     /* PyLongObject up to its first digit */
#define FTP_LAYOUT_VALUES_SPAN 8    /* PyDictValues' header (3.13+) */

/* Checks that every field of L lies where a reader of the spans above finds
 * it: inside FTP_LAYOUT_*_SPAN and its struct's size; str and bytes header
 * fields inside sizeof(PyASCIIObject) and before ob_sval; a dict entry's key
 * and value inside the entry. Returns 0, or -FTP_E_UNSUPPORTED with err
 * filled. */
int ftp_layout_check(const struct ftp_layout *L, struct ftp_error *err);

/* Size of the _Py_DebugOffsets prefix ftprof reads from the target. */
#define FTP_DEBUG_OFFSETS_MAX 1024

/* Parses a _Py_DebugOffsets blob (3.13+) read from the start of _PyRuntime.
 * Checks the cookie, the version and that every offset lies inside the size of
 * its struct. Minors newer than the newest known one are parsed with the newest
 * known field list and marked so that callers validate them against the
 * process. The layout passes ftp_layout_check(). Returns 0, or
 * -FTP_E_NOTPYTHON (no cookie), -FTP_E_UNSUPPORTED, -FTP_E_CORRUPT with err
 * filled. */
int ftp_layout_from_debug_offsets(struct ftp_layout *out, const void *blob, size_t len,
                                  struct ftp_error *err);

/* The built-in layout of a version without _Py_DebugOffsets (3.8-3.12),
 * chosen by major and minor of version (a PY_VERSION_HEX); free_threaded
 * must be false. Returns 0, or -FTP_E_UNSUPPORTED. */
int ftp_layout_builtin(struct ftp_layout *out, uint32_t version, bool free_threaded, struct ftp_error *err);

/* Formats a PY_VERSION_HEX as "3.13.0", "3.14.0rc2". Returns buf. */
char *ftp_version_str(uint32_t version, char *buf, size_t len);

/* ---- Decoders of CPython data --------------------------------------- */

/* The line that executes the instruction at byte offset `offset` of a code
 * object, from its line table in the given format. Returns the line (>= 0),
 * or -1 when the table says the instruction has no line or the table is
 * malformed or too short. Never reads beyond tab[len - 1]. */
int ftp_linetable_line(enum ftp_line_format format, const uint8_t *tab, size_t len, int firstlineno,
                       uint32_t offset);

/* Converts a string's characters of the given kind (1 = Latin-1, 2 = UCS-2,
 * 4 = UCS-4; count characters in data, data_len bytes available) to UTF-8 in
 * out (out_len bytes including the terminating NUL). Invalid code points
 * (surrogates, > 0x10FFFF) become U+FFFD. The result is always
 * NUL-terminated and truncated at a character boundary. Returns the number of
 * bytes written without the NUL, or -1 for a bad kind or a data_len shorter
 * than count * kind. */
long ftp_pystr_to_utf8(unsigned kind, const void *data, size_t data_len, size_t count, char *out,
                       size_t out_len);

#endif
