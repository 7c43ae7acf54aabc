/*
 * spinner: prints a line, then spins forever in a tight loop (an add and a
 * branch). It is there to be preempted, and stopped when its meter runs out.
 *
 * Keys: key register 1 (console). Argv: ignored. It never exits.
 *
 * Expected console output:
 *
 *	spinner: start
 */
#include <stdio.h>

int main(void)
{
	printf("spinner: start\n");
	fflush(stdout);
	unsigned long n = 0;
	for (;;) {
		n++;
		__asm__ __volatile__("" : "+r"(n));
	}
}
