/*
 * misaligned: misaligned loads, stores and atomics.
 *
 * Keys: key register 1 (console), 5 (exit); its domain keeper must be
 * recover (recover.c). Argv: argv[1] = rounds (default 20).
 *
 * At every offset 0..7 into an aligned buffer it probes loads and stores of
 * 2, 4 and 8 bytes, and lr, sc and amoadd of 4 and 8 bytes; then the same
 * at an unmapped address (0x3000_0000 + offset). Expected outcomes: an
 * access whose address is a multiple of its size works (on the unmapped
 * address: a fault, nothing mapped); any other traps to the domain keeper
 * with KF_TRAP_MISALIGNED, the address, and the access kind (read for
 * loads and lr, write for stores, sc and amoadd), whether the address is
 * mapped or not: alignment is checked first. A misaligned store changes
 * no byte. (An aligned sc here holds no reservation: it fails without
 * touching memory, so it does not fault even where nothing is mapped.)
 *
 * Expected console output (exit 0):
 *
 *	misaligned: N probes, M misaligned, all as expected
 *
 * On a mismatch it prints what it got and what it wanted (at most five
 * lines), then "misaligned: K of N unexpected", and exits 1.
 */
#include "hostile.h"

static uint64_t buf[4] __attribute__((aligned(16)));

static unsigned long n, mis, bad;

static void probe(const char *what, uint64_t a, int size, int write, hz_trap t,
		  int mapped)
{
	/* An sc without a reservation fails without touching memory. */
	if (what[0] == 's' && what[1] == 'c')
		mapped = 1;
	long want = 0;
	uint64_t detail = ~0ULL, addr = a, access = write ? KF_ACCESS_WRITE : KF_ACCESS_READ;
	if (a % (uint64_t)size != 0) {
		want = KF_TRAP_MISALIGNED;
		mis++;
	} else if (!mapped) {
		want = KF_TRAP_FAULT;
		detail = KF_FAULT_NOT_MAPPED;
	}
	n++;
	bad += (unsigned long)hz_expect("misaligned", what, a, t, want, detail, addr, access);
}

static void round_at(uint64_t base, int mapped)
{
	for (uint64_t off = 0; off < 8; off++) {
		uint64_t a = base + off;
		for (int size = 2; size <= 8; size *= 2) {
			probe("load", a, size, 0, hz_load(a, size, NULL), mapped);
			if (mapped) {
				buf[0] = buf[1] = 0x1111111111111111ULL;
			}
			hz_trap t = hz_store(a, size, 0);
			probe("store", a, size, 1, t, mapped);
			if (mapped && t.code != 0 &&
			    (buf[0] != 0x1111111111111111ULL || buf[1] != 0x1111111111111111ULL)) {
				printf("misaligned: a trapped store at %#lx changed memory\n", (unsigned long)a);
				bad++;
			}
			if (size < 4)
				continue;
			probe("lr", a, size, 0, hz_lr(a, size), mapped);
			probe("sc", a, size, 1, hz_sc(a, size, 0), mapped);
			probe("amoadd", a, size, 1, hz_amoadd(a, size, 1, NULL), mapped);
		}
	}
}

int main(int argc, char **argv)
{
	unsigned long rounds = hz_arg(argc, argv, 1, 20);
	for (unsigned long r = 0; r < rounds; r++) {
		round_at((uint64_t)(uintptr_t)buf, 1);
		round_at(0x30000000, 0);
	}
	if (bad) {
		printf("misaligned: %lu of %lu unexpected\n", bad, n);
		return 1;
	}
	printf("misaligned: %lu probes, %lu misaligned, all as expected\n", n, mis);
	return 0;
}
