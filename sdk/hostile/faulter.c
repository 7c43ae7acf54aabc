/*
 * faulter: faults on purpose, for ever: the victim of the bad keepers.
 *
 * Keys: key register 1 (console). Argv: argv[1] = the base address of the
 * faults (decimal; default 0x3000_0000 = 805306368, where nothing is mapped,
 * so faults go to the domain keeper; a launcher may map a red segment
 * there, whose keeper then gets them). It never exits.
 *
 * Loop i: load from base + 4096 * (i % 16), store there, jump there. Each
 * of these faults (nothing mapped) unless a keeper maps something. What
 * happens next is up to its keeper; a keeper that never answers leaves it
 * waiting for ever, and one that declines stops it. It prints one line
 * when it starts.
 *
 * Expected console output:
 *
 *	faulter: faulting at 0x30000000
 */
#include "hostile.h"

volatile uint64_t faulter_sink;

int main(int argc, char **argv)
{
	uint64_t base = hz_arg(argc, argv, 1, 0x30000000);
	printf("faulter: faulting at %#lx\n", (unsigned long)base);
	fflush(stdout);
	for (uint64_t i = 0;; i++) {
		volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(base + 4096 * (i % 16));
		faulter_sink = *p;
		*p = i;
		((void (*)(void))(uintptr_t)p)();
	}
}
