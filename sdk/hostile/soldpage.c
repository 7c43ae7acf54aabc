/*
 * soldpage: reads a page after it was sold, unmapped, or its bank
 * destroyed, from another core.
 *
 * Keys: key register 1 (console), 2 (its bank), 3 (its meter), 4 (itself),
 * 5 (exit), 6 (the clock, to wait without spinning); 8 (KF_KR_ARG0) a node key to node N, which the launcher mounts
 * as a size-1 segment (16 pages, not red) at 0x2000_0000; 9..13 scratch.
 * Its domain keeper must be recover (recover.c). Argv: argv[1] = rounds
 * (default 60).
 *
 * A reader thread (homed in the other rv64 cluster when there is one)
 * loads, over and over, the page that round r maps at slot r % 16 of N.
 * Round r: main buys a page (from its bank, or from a fresh sub-bank),
 * writes r into it and puts it in the slot; then removes it again in one
 * of four ways: (0) sells it; (1) swaps DK(0) into the slot; (2) destroys
 * the sub-bank it came from; (3) sells it at once, without waiting for the
 * reader to have read it (so the reader's first translation races the
 * sale). When the removal has returned, main publishes that (a release
 * store of the round's "gone" flag).
 *
 * The TLB invariant says: once an operation that removes a mapping has
 * completed, no domain on any core can use the old mapping. So a load
 * that the reader makes after it has seen the gone flag must fault
 * (KF_FAULT_NOT_MAPPED at the page's address); while the page is mapped a
 * load must read r. Main checks the same on its own core.
 *
 * Expected console output (exit 0):
 *
 *	soldpage: R rounds, no load through a removed mapping
 *
 * A violation prints "soldpage: round R: ..." and exits 1.
 */
#include "hostile.h"

#define BASE 0x20000000UL
#define STACK 8192
static char reader_stack[STACK] __attribute__((aligned(16)));

static volatile uint64_t round_no, mapped, gone, reader_saw, reader_done, stop;
static volatile uint64_t violations, bad_value, reads, faults;

static void reader(uint64_t unused)
{
	(void)unused;
	uint64_t seen_round = ~0ULL;
	for (;;) {
		if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			return;
		uint64_t r = __atomic_load_n(&round_no, __ATOMIC_ACQUIRE);
		if (!__atomic_load_n(&mapped, __ATOMIC_ACQUIRE) || r == seen_round) {
			hz_yield();
			continue;
		}
		uint64_t a = BASE + 4096 * (r % 16);
		uint64_t g = __atomic_load_n(&gone, __ATOMIC_ACQUIRE);
		uint64_t v;
		hz_trap t = hz_load(a, 8, &v);
		if (t.code == 0) {
			reads++;
			if (g) {
				violations++;
				seen_round = r;
				__atomic_store_n(&reader_done, r + 1, __ATOMIC_RELEASE);
				continue;
			}
			if (v != r)
				bad_value++;
			__atomic_store_n(&reader_saw, r + 1, __ATOMIC_RELEASE);
		} else {
			faults++;
			if (g) {
				seen_round = r;
				__atomic_store_n(&reader_done, r + 1, __ATOMIC_RELEASE);
			}
		}
	}
}

int main(int argc, char **argv)
{
	unsigned long rounds = hz_arg(argc, argv, 1, 60);
	long rc;
	if ((rc = hz_spawn_at(KF_KR_BANK, 12, 13, reader, 0, reader_stack + STACK,
			      hz_other_cluster())) != KF_RC_OK) {
		printf("soldpage: starting the reader: %ld\n", rc);
		return 1;
	}
	for (uint64_t r = 0; r < rounds; r++) {
		int mode = (int)(r % 4);
		uint64_t slot = r % 16, a = BASE + 4096 * slot;
		unsigned bank = KF_KR_BANK;
		if (mode == 2) {
			if ((rc = kf_bank_buy_bank(KF_KR_BANK, NULL, 10)) != KF_RC_OK) {
				printf("soldpage: round %lu: buying a bank: %ld\n", (unsigned long)r, rc);
				return 1;
			}
			bank = 10;
		}
		__atomic_store_n(&gone, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&mapped, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&round_no, r, __ATOMIC_RELEASE);
		if ((rc = kf_bank_buy_page(bank, 9)) != KF_RC_OK ||
		    (rc = kf_page_write(9, 0, &r, sizeof r)) != KF_RC_OK ||
		    (rc = kf_node_swap(8, slot, 9, 0)) != KF_RC_OK) {
			printf("soldpage: round %lu: mapping: %ld\n", (unsigned long)r, rc);
			return 1;
		}
		__atomic_store_n(&mapped, 1, __ATOMIC_RELEASE);
		uint64_t v = 0;
		hz_trap t = hz_load(a, 8, &v);
		if (t.code != 0 || v != r) {
			printf("soldpage: round %lu: the mapped page reads trap %ld value %lu\n",
			       (unsigned long)r, t.code, (unsigned long)v);
			return 1;
		}
		if (mode != 3)
			hz_wait_for(&reader_saw, r + 1);
		switch (mode) {
		case 0:
		case 3:
			rc = kf_bank_sell(KF_KR_BANK, 9);
			break;
		case 1:
			rc = kf_node_swap(8, slot, 0, 0);
			break;
		default:
			rc = kf_bank_destroy(10);
			break;
		}
		if (rc != KF_RC_OK) {
			printf("soldpage: round %lu: removing (way %d): %ld\n", (unsigned long)r, mode, rc);
			return 1;
		}
		__atomic_store_n(&gone, 1, __ATOMIC_RELEASE);
		t = hz_load(a, 8, &v);
		if (t.code != KF_TRAP_FAULT || t.detail != KF_FAULT_NOT_MAPPED || t.addr != a) {
			printf("soldpage: round %lu: main's load after the removal (way %d): trap %ld detail %lu\n",
			       (unsigned long)r, mode, t.code, (unsigned long)t.detail);
			return 1;
		}
		hz_wait_for(&reader_done, r + 1);
		if (mode == 1 && (rc = kf_bank_sell(KF_KR_BANK, 9)) != KF_RC_OK) {
			printf("soldpage: round %lu: selling the unmapped page: %ld\n", (unsigned long)r, rc);
			return 1;
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	if (violations || bad_value) {
		printf("soldpage: %lu loads through a removed mapping, %lu wrong values\n",
		       (unsigned long)violations, (unsigned long)bad_value);
		return 1;
	}
	printf("soldpage: %lu rounds, no load through a removed mapping\n", rounds);
	return 0;
}
