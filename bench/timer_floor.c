/* SPDX-License-Identifier: MIT */
/* The CPU a process spends only to wake up RATE times a second: the floor
 * under any sampler's round at that rate. Sleeps to absolute deadlines on
 * CLOCK_MONOTONIC with 1 ns of timer slack, as ftprof record does, and
 * prints "WAKEUPS CPU_SECONDS".
 *   timer_floor RATE SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: timer_floor RATE SECONDS\n");
		return 64;
	}
	double rate = atof(argv[1]), seconds = atof(argv[2]);
	if (rate <= 0 || seconds <= 0) {
		fprintf(stderr, "timer_floor: RATE and SECONDS must be above 0\n");
		return 64;
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	const long long period = (long long)(1e9 / rate), n = (long long)(rate * seconds);
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long long next = t.tv_sec * 1000000000LL + t.tv_nsec;
	for (long long i = 0; i < n; i++) {
		next += period;
		struct timespec until = { (time_t)(next / 1000000000LL), (long)(next % 1000000000LL) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	             ru.ru_stime.tv_usec / 1e6;
	printf("%lld %.6f\n", n, cpu);
	return 0;
}
