/* SPDX-License-Identifier: MIT */
/* The dump printers on a synthetic snapshot: two threads deadlocked (one name
 * with a terminal escape in it), a thread waiting on a critical section whose
 * holder is unknown, and a running one: the deadlock comes first, in words;
 * each waiting thread says what it waits on and who holds it; the JSON has
 * on_cpu, waits_on and deadlocks. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

static const struct ftp_code codes[] = {
	{ 0x10, "one", "one", "/app/dl.py", 3 },
	{ 0x20, "two", "two", "/app/dl.py", 9 },
};
static const struct ftp_frame f_one[] = { { .flags = FTP_FRAME_NATIVE, .symbol = "sem_wait", .ip = 1 },
	                                  { .code = &codes[0], .line = 6 } };
static const struct ftp_frame f_two[] = { { .code = &codes[1], .line = 11 } };

static char *print(bool json)
{
	static struct ftp_target_info info = { .pid = 42,
		                               .version = 0x030d00f0,
		                               .version_str = "3.13.0",
		                               .executable = "/usr/bin/python3",
		                               .cmdline = "python3 dl.py" };
	struct dump_thread t[4] = { 0 };
	t[0].s = (struct ftp_sample){ .tid = 43,
		                      .name = "w\x1b[31m1",
		                      .state = FTP_STATE_LOCK,
		                      .on_cpu = 1,
		                      .holds_gil = -1,
		                      .frames = f_one,
		                      .nframes = 2,
		                      .wait = { FTP_WAIT_LOCK, 0xa0, NULL, 44, FTP_HOLDER_WITH } };
	t[1].s = (struct ftp_sample){ .tid = 44,
		                      .name = "w2",
		                      .state = FTP_STATE_LOCK,
		                      .on_cpu = 0,
		                      .holds_gil = -1,
		                      .frames = f_two,
		                      .nframes = 1,
		                      .wait = { FTP_WAIT_RLOCK, 0xb0, NULL, 43, FTP_HOLDER_OWNER } };
	t[2].s = (struct ftp_sample){ .tid = 45,
		                      .state = FTP_STATE_LOCK,
		                      .on_cpu = -1,
		                      .holds_gil = -1,
		                      .wait = { FTP_WAIT_CRITICAL_SECTION, 0xc0, "li\"st", 0,
		                                FTP_HOLDER_NONE } };
	t[3].s = (struct ftp_sample){ .tid = 42,
		                      .name = "MainThread",
		                      .is_main = true,
		                      .state = FTP_STATE_RUNNING,
		                      .on_cpu = 1,
		                      .holds_gil = -1 };
	struct dump d = { .info = &info, .threads = t, .n = 4 };
	struct deadlock_thread in[4];
	for (size_t i = 0; i < 4; i++)
		in[i] = (struct deadlock_thread){ t[i].s.tid, t[i].s.state, t[i].s.wait.kind,
			                          t[i].s.wait.address, t[i].s.wait.holder };
	cr_assert_eq(deadlock_find(in, 4, &d.deadlocks), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (json)
		dump_print_json(f, &d);
	else
		dump_print_text(f, &d);
	cr_assert_eq(fclose(f), 0);
	deadlocks_release(&d.deadlocks);
	return text;
}

Test(dump_print, text)
{
	char *text = print(false);
	const char *want_deadlock = "\nDeadlock: 2 threads wait for each other, none can go on:\n"
	                            "    thread 43 \"w\\x1b[31m1\" waits for Lock 0xa0 held by thread 44 "
	                            "\"w2\", in one (/app/dl.py:6)\n"
	                            "    thread 44 \"w2\" waits for RLock 0xb0 held by thread 43 "
	                            "\"w\\x1b[31m1\", in two (/app/dl.py:11)\n";
	const char *deadlock = strstr(text, want_deadlock);
	const char *first_thread = strstr(text, "\nThread ");
	cr_expect(deadlock && first_thread && deadlock < first_thread, "the deadlock first:\n%s", text);
	cr_expect(strstr(text, "\nThread 43 (lock, on CPU): \"w\\x1b[31m1\", waiting for Lock 0xa0 held by "
	                       "thread 44 \"w2\"\n"),
	          "%s", text);
	cr_expect(strstr(text, "\nThread 44 (lock): \"w2\", waiting for RLock 0xb0 held by thread 43"), "%s",
	          text);
	cr_expect(strstr(text, "\nThread 45 (lock), waiting for critical section of li\"st 0xc0 held by an "
	                       "unknown thread\n"),
	          "%s", text);
	cr_expect(strstr(text, "\nThread 42 (running): \"MainThread\" [main]\n"), "%s", text);
	cr_expect(!strchr(text, '\x1b'), "an escape reached the terminal");
	free(text);
}

Test(dump_print, json)
{
	char *text = print(true);
	cr_expect(strncmp(text, "{\"format\": 2,", 13) == 0, "%.40s", text);
	cr_expect(strstr(text,
	                 "\"on_cpu\": true, \"holds_gil\": null, \"waits_on\": {\"kind\": \"Lock\", "
	                 "\"address\": \"0xa0\", \"type\": null, \"holder\": 44, \"holder_how\": \"with\"}"),
	          "%s", text);
	cr_expect(strstr(text, "\"waits_on\": {\"kind\": \"critical section\", \"address\": \"0xc0\", "
	                       "\"type\": \"li\\\"st\", \"holder\": null, \"holder_how\": null}"),
	          "%s", text);
	cr_expect(strstr(text, "\"on_cpu\": null"), "%s", text);
	cr_expect(strstr(text, "\"waits_on\": null"), "%s", text);
	cr_expect(strstr(text, "\"deadlocks\": [{\"threads\": [43, 44], \"locks\": [{\"kind\": \"Lock\", "
	                       "\"address\": \"0xa0\"}, {\"kind\": \"RLock\", \"address\": \"0xb0\"}]}]"),
	          "%s", text);
	free(text);
}
