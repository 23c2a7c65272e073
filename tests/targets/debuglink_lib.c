/* SPDX-License-Identifier: MIT */
/* A library whose static function is named only in its separate debug file:
 * the build strips it and links the debug file by .gnu_debuglink (no build
 * ID path under /usr/lib/debug holds it). debuglink.py spins in it. */
static volatile unsigned long sink;

__attribute__((noinline)) static void hidden_spin(void)
{
	for (unsigned long i = 0; i < 1000000; i++)
		sink += i;
}

void debuglink_spin(void);

void debuglink_spin(void)
{
	for (;;)
		hidden_spin();
}
