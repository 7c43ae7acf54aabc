/*
 * bankkill: destroys the bank of a domain it is calling.
 *
 * Keys: key register 1 (console), 2 (its bank), 3 (its meter), 4 (itself),
 * 5 (exit), 6 (the clock); 8..13 are scratch. Argv: argv[1] = rounds
 * (default 9).
 *
 * Each round buys a sub-bank (register 9) and, from it, a server thread
 * (register 10; a start key to it in 11), homed in the other rv64 cluster
 * when there is one. A killer thread, bought from the program's own bank,
 * waits until the server has received main's CALL and then destroys the
 * server's bank. What the server is doing at that moment depends on the
 * round (round % 3):
 *   0  spinning (executing, holding main's resume key in register 15);
 *   1  waiting for the clock (a CALL to the clock that comes due in an
 *      hour);
 *   2  stalled: it CALLs a start key to main, which is waiting for the
 *      server, so it waits in main's stall queue.
 * Expected: main's CALL is answered with KF_RC_CALLEE_DESTROYED; the
 * destroy returns KF_RC_OK; afterwards the start key and the domain key to
 * the server are void (they answer like DK(0): 0), and a new purchase from
 * the destroyed bank's key is answered 0 too (void key: nothing bought).
 *
 * Expected console output (exit 0):
 *
 *	bankkill: R rounds, every call answered callee destroyed, every key void
 *
 * otherwise a line saying what came back in which round, and exit 1.
 */
#include "hostile.h"

#define STACK 8192
static char server_stack[STACK] __attribute__((aligned(16)));
static char killer_stack[STACK] __attribute__((aligned(16)));

static volatile uint64_t got_call, killed, destroy_rc;

static void server(uint64_t mode)
{
	kf_recv r = { .keys = { 0, 0, 0, KF_RECV_RESUME } };
	kf_wait(&r);
	__atomic_store_n(&got_call, 1, __ATOMIC_RELEASE);
	switch (mode) {
	case 0:
		for (;;)
			__asm__ __volatile__("");
	case 1: {
		uint64_t now = 0;
		kf_clock_read(KF_KR_CLOCK, &now);
		kf_clock_wait_until(KF_KR_CLOCK, now + 3600ULL * 1000000000ULL);
		break;
	}
	default:
		/* register 8: a start key to main (main is waiting: this stalls) */
		kf_call(8, NULL, NULL);
		break;
	}
	for (;;)
		kf_wait(NULL);
}

static void killer(uint64_t unused)
{
	(void)unused;
	hz_spin(&got_call);
	/* Let the server get into its state (a few thousand instructions). */
	for (volatile int i = 0; i < 20000; i++)
		;
	destroy_rc = (uint64_t)kf_bank_destroy(9);
	__atomic_store_n(&killed, 1, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	unsigned long rounds = hz_arg(argc, argv, 1, 9);
	long home = hz_other_cluster();
	if (kf_domain_make_start(KF_KR_SELF, 0, 8) != KF_RC_OK) {
		printf("bankkill: cannot make a start key to itself\n");
		return 1;
	}
	for (unsigned long round = 0; round < rounds; round++) {
		got_call = killed = 0;
		destroy_rc = 99;
		long rc;
		if ((rc = kf_bank_buy_bank(KF_KR_BANK, NULL, 9)) != KF_RC_OK ||
		    (rc = hz_spawn_at(9, 10, 13, server, round % 3, server_stack + STACK, home)) != KF_RC_OK ||
		    (rc = kf_domain_make_start(10, 0, 11)) != KF_RC_OK ||
		    (rc = hz_spawn(KF_KR_BANK, 12, 13, killer, 0, killer_stack + STACK)) != KF_RC_OK) {
			printf("bankkill: round %lu: setting up: %ld\n", round, rc);
			return 1;
		}
		long got = kf_call(11, NULL, NULL);
		hz_spin(&killed);
		if (got != KF_RC_CALLEE_DESTROYED || destroy_rc != KF_RC_OK) {
			printf("bankkill: round %lu: call answered %ld, destroy %ld\n", round, got,
			       (long)destroy_rc);
			return 1;
		}
		long st = kf_call(11, NULL, NULL), dt = kf_key_type(10),
		     bt = kf_bank_buy_page(9, 13);
		if (st != 0 || dt != 0 || bt != 0) {
			printf("bankkill: round %lu: after the destroy: start key %ld, domain key %ld, bank %ld\n",
			       round, st, dt, bt);
			return 1;
		}
		/* The killer thread is done: sell it. */
		if ((rc = kf_bank_sell(KF_KR_BANK, 12)) != KF_RC_OK) {
			printf("bankkill: round %lu: selling the killer: %ld\n", round, rc);
			return 1;
		}
	}
	printf("bankkill: %lu rounds, every call answered callee destroyed, every key void\n", rounds);
	return 0;
}
