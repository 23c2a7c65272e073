/* SPDX-License-Identifier: MIT */
/* The options commands share: one table of long options, one parser, the
 * same messages in every command. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "sampler.h"
#include "ui.h"

/* getopt values of the shared options without a short letter */
enum { OPT_VAL_BLOCKING = 'B', OPT_VAL_NATIVE = 'N', OPT_VAL_NONBLOCKING = 'n', OPT_VAL_NO_ONCPU = 'O' };

struct shared_option {
	unsigned which;
	struct option opt;
};

static const struct shared_option shared[] = {
	{ OPT_PID, { "pid", required_argument, NULL, 'p' } },
	{ OPT_RATE, { "rate", required_argument, NULL, 'r' } },
	{ OPT_DURATION, { "duration", required_argument, NULL, 'd' } },
	{ OPT_BLOCKING, { "blocking", no_argument, NULL, OPT_VAL_BLOCKING } },
	{ OPT_BLOCKING, { "nonblocking", no_argument, NULL, OPT_VAL_NONBLOCKING } },
	{ OPT_NATIVE, { "native", no_argument, NULL, OPT_VAL_NATIVE } },
	{ OPT_IDLE, { "idle", no_argument, NULL, 'i' } },
	{ OPT_ONCPU, { "no-oncpu", no_argument, NULL, OPT_VAL_NO_ONCPU } },
};
#define NSHARED (sizeof(shared) / sizeof(shared[0]))
#define MAX_OWN 32

bool options_parse_rate(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return false;
	if (*end == 'k' || *end == 'K') {
		v *= 1000;
		end++;
	} else if (*end == 'M') {
		v *= 1000000;
		end++;
	}
	if (strcasecmp(end, "hz") == 0)
		end += 2;
	*out = v;
	return *end == '\0';
}

bool options_parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return false;
	if (*end == 's' && end[1] == '\0')
		end++;
	*out = v;
	return *end == '\0';
}

/* A shared option: 1 when c is one and it was taken, 0 when c is not one,
 * or an exit code. */
static int take_shared(struct cmd_options *o, int c, const char *arg, const char **pid_arg)
{
	switch (c) {
	case 'p':
		*pid_arg = arg;
		return 1;
	case 'r':
		if (!options_parse_rate(arg, &o->rate) || o->rate <= 0) {
			ui_error(o->cmd, "invalid rate '%s' (a number of samples per second above 0)", arg);
			return EXIT_USAGE;
		}
		if (o->rate > SAMPLER_MAX_RATE) {
			ui_error(o->cmd, "rate %s is beyond what the sampler can pace (at most %g Hz)", arg,
			         SAMPLER_MAX_RATE);
			return EXIT_USAGE;
		}
		return 1;
	case 'd':
		if (!options_parse_seconds(arg, &o->duration) || o->duration <= 0) {
			ui_error(o->cmd, "invalid duration '%s' (seconds, above 0)", arg);
			return EXIT_USAGE;
		}
		return 1;
	case OPT_VAL_BLOCKING:
		o->blocking = true;
		return 1;
	case OPT_VAL_NONBLOCKING:
		o->blocking = false;
		o->nonblocking_given = true;
		return 1;
	case OPT_VAL_NATIVE:
		o->native = true;
		return 1;
	case 'i':
		o->idle = true;
		return 1;
	case OPT_VAL_NO_ONCPU:
		o->no_oncpu = true;
		return 1;
	}
	return 0;
}

/* The target from what follows the options: a PID, or a command. */
static int take_target(struct cmd_options *o, int argc, char **argv, const char *pid_arg)
{
	bool dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
	if (o->which & OPT_COMMAND) {
		if (pid_arg && optind < argc) {
			ui_error(o->cmd, "give either a PID or a command, not both");
			return EXIT_USAGE;
		}
		if (!pid_arg && optind < argc) {
			if (!dashdash && optind + 1 == argc)
				pid_arg = argv[optind];
			else
				o->command = &argv[optind];
		}
	} else {
		if (!pid_arg && optind < argc)
			pid_arg = argv[optind++];
		if (pid_arg && optind < argc) {
			ui_error(o->cmd, "unexpected argument '%s'", argv[optind]);
			return EXIT_USAGE;
		}
	}
	if (!pid_arg && !o->command) {
		if (o->which & OPT_COMMAND)
			ui_error(o->cmd, "no process given (ftprof %s PID, or ftprof %s -- COMMAND)", o->cmd,
			         o->cmd);
		else
			ui_error(o->cmd, "no process given (usage: ftprof %s [OPTIONS] PID)", o->cmd);
		return EXIT_USAGE;
	}
	if (pid_arg && !ui_parse_pid(o->cmd, pid_arg, &o->pid))
		return EXIT_USAGE;
	return 0;
}

int options_parse(struct cmd_options *o, int argc, char **argv, const char *shortopts,
                  const struct option *own_long, options_own_fn *own, void *ctx)
{
	struct option longopts[NSHARED + MAX_OWN + 1];
	size_t n = 0;
	for (size_t i = 0; i < NSHARED; i++)
		if (o->which & shared[i].which)
			longopts[n++] = shared[i].opt;
	for (; own_long->name && n < NSHARED + MAX_OWN; own_long++)
		longopts[n++] = *own_long;
	memset(&longopts[n], 0, sizeof(longopts[n]));

	const bool blocking_default = o->blocking;
	const char *pid_arg = NULL;
	int c, ret;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == '?') {
			if (optopt)
				ui_error(o->cmd,
				         "unknown option or missing value '-%c' (see 'ftprof %s --help')",
				         optopt, o->cmd);
			else
				ui_error(o->cmd, "unknown option '%s' (see 'ftprof %s --help')",
				         argv[optind - 1], o->cmd);
			return EXIT_USAGE;
		}
		if ((ret = take_shared(o, c, optarg, &pid_arg)) == 0)
			ret = own(ctx, c, optarg);
		if (ret != 1 && ret != 0)
			return ret;
	}
	if ((ret = take_target(o, argc, argv, pid_arg)) != 0)
		return ret;
	if (o->native && (o->which & OPT_ONCPU) && !o->blocking) {
		/* record: native stacks from the on-CPU samples, without stopping */
		if (o->no_oncpu) {
			ui_error(o->cmd, "--native without --blocking takes its native stacks from on-CPU "
			                 "samples: drop --no-oncpu, or add --blocking");
			return EXIT_USAGE;
		}
		return 0;
	}
	if (o->native && o->nonblocking_given) {
		/* where blocking is the default, --nonblocking was asked for */
		if (blocking_default)
			ui_error(o->cmd, "--native cannot be combined with --nonblocking: native stacks are "
			                 "unwound while the threads are stopped");
		else
			ui_error(o->cmd, "--native needs --blocking: native stacks are unwound while the "
			                 "target is stopped");
		return EXIT_USAGE;
	}
	if (o->native)
		o->blocking = true;
	return 0;
}
