/*
 * wild: wild loads, stores and jumps.
 *
 * Keys: key register 1 (console), 5 (exit); its domain keeper must be
 * recover (recover.c). Argv: argv[1] = seed (default 1), argv[2] = the
 * number of probes (default 3000).
 *
 * Each probe is a load, a store or a jump (chosen at random) to an address
 * of one of these classes, with the outcome the kernel must give:
 *
 *   random    any address at or above 4 GiB (past the root segment):
 *             a fault, nothing mapped, at that address, with the access
 *             kind of the probe (read, write or exec);
 *   hole      an address in a 256 MiB region nothing is mapped in
 *             (0x2000_0000..0x6fff_ffff, and the first page): the same;
 *   text      an address in the program's own text (read-only): a load
 *             works, a store is a fault through read-only; jumps are not
 *             made there (they would run the program's own code);
 *   heap      an address in the first 64 pages of the demand-zero heap:
 *             loads and stores work (the zero keeper maps the page); a jump
 *             (to the next 64 pages, which nothing writes) finds zeros, an
 *             illegal instruction (detail 0).
 *
 * Expected console output (exit 0):
 *
 *	wild: N probes: L loads, S stores, J jumps, F faults, all as expected
 *
 * On a mismatch it prints what it got and what it wanted (at most five
 * lines), then "wild: M of N probes unexpected", and exits 1.
 */
#include "hostile.h"

extern char __text_end[];

int main(int argc, char **argv)
{
	uint64_t s = hz_seed(argc, argv, 1, 1);
	unsigned long n = hz_arg(argc, argv, 2, 3000);
	unsigned long loads = 0, stores = 0, jumps = 0, faults = 0, bad = 0;
	uint64_t text_lo = KF_IMAGE_BASE, text_hi = (uint64_t)(uintptr_t)__text_end;

	for (unsigned long i = 0; i < n; i++) {
		uint64_t r = hz_rand(&s);
		int kind = (int)(r % 3); /* 0 load, 1 store, 2 jump */
		int cls = (int)((r >> 8) % 4);
		uint64_t a;
		switch (cls) {
		case 0: /* random, at or above 4 GiB */
			a = hz_rand(&s) | (1ULL << (32 + hz_rand(&s) % 32));
			break;
		case 1: /* hole */
			if (hz_rand(&s) % 8 == 0)
				a = hz_rand(&s) % KF_LIMIT_PAGE_SIZE;
			else
				a = 0x20000000 + hz_rand(&s) % (0x70000000 - 0x20000000);
			break;
		case 2: /* text */
			a = text_lo + hz_rand(&s) % (text_hi - text_lo);
			if (kind == 2)
				kind = 0;
			break;
		default: /* heap: stores go to pages 0..63, jumps to 64..127 */
			a = KF_HEAP_BASE + hz_rand(&s) % (64 * KF_LIMIT_PAGE_SIZE);
			if (kind == 2)
				a += 64 * KF_LIMIT_PAGE_SIZE;
			break;
		}
		a &= ~7ULL; /* aligned: misaligned.c covers the rest */
		hz_trap t;
		uint64_t v;
		long want = KF_TRAP_FAULT;
		uint64_t detail = KF_FAULT_NOT_MAPPED, access;
		switch (kind) {
		case 0:
			loads++;
			t = hz_load(a, 8, &v);
			access = KF_ACCESS_READ;
			if (cls >= 2)
				want = 0;
			break;
		case 1:
			stores++;
			t = hz_store(a, 8, r);
			access = KF_ACCESS_WRITE;
			if (cls == 2)
				detail = KF_FAULT_READ_ONLY;
			if (cls == 3)
				want = 0;
			break;
		default:
			jumps++;
			t = hz_jump(a);
			access = KF_ACCESS_EXEC;
			if (cls == 3) {
				want = KF_TRAP_ILLEGAL;
				detail = 0;
				access = ~0ULL;
			}
			break;
		}
		if (t.code != 0)
			faults++;
		bad += (unsigned long)hz_expect("wild", kind == 0 ? "load" : kind == 1 ? "store" : "jump",
						a, t, want, detail,
						want == KF_TRAP_FAULT ? a : ~0ULL, access);
	}
	if (bad) {
		printf("wild: %lu of %lu probes unexpected\n", bad, n);
		return 1;
	}
	printf("wild: %lu probes: %lu loads, %lu stores, %lu jumps, %lu faults, all as expected\n",
	       n, loads, stores, jumps, faults);
	return 0;
}
