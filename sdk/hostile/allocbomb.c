/*
 * allocbomb: buys everything a bank sells until the bank refuses.
 *
 * Keys: key register 1 (console), 2 (its bank, a full key), 3 (its meter),
 * 5 (exit); 9..14 are scratch (a refused purchase leaves DK(0) in its
 * destination register, so the keys kept for later are bought first into
 * 9 and 10). Argv: ignored.
 *
 * It first touches 16 KiB of stack (afterwards nothing may grow: the zero
 * keeper buys stack pages from the same bank), then:
 *
 *   1. lifts its own bank's limits (KF_OC_BANK_SET_LIMITS, all unlimited)
 *      and reports the return code: a full bank key may do that, so a
 *      launcher that means to bound a program gives it a sub-bank of a
 *      limited bank, whose limits the program cannot reach;
 *   2. buys pages, then nodes, then meters, then sub-banks, then domains,
 *      each until the bank refuses, and checks every refusal is
 *      KF_RC_NO_SPACE;
 *   3. buys an unlimited sub-bank... of a sub-bank (nested) until refused:
 *      KF_RC_NO_SPACE or, at depth KF_LIMIT_BANK_DEPTH, KF_RC_RANGE;
 *   4. sells one page and buys one again (the space is free at once), and
 *      checks that the next purchase is refused again.
 *
 * Expected console output (exit 0):
 *
 *	allocbomb: set limits: 0
 *	allocbomb: P pages, N nodes, M meters, B banks, D domains, depth K, every refusal as expected
 *
 * A refusal with another return code prints
 *	allocbomb: buying KIND number I: return code RC
 * and exits 1.
 */
#include "hostile.h"

#define STACK_RESERVE (16 * 1024)

static void __attribute__((noinline)) reserve_stack(void)
{
	volatile char area[STACK_RESERVE];
	for (unsigned long i = 0; i < sizeof area; i += KF_LIMIT_PAGE_SIZE)
		area[i] = 0;
	area[sizeof area - 1] = 0;
}

static int fail(const char *kind, unsigned long i, long rc)
{
	printf("allocbomb: buying %s number %lu: return code %ld\n", kind, i, rc);
	return 1;
}

int main(void)
{
	reserve_stack();

	uint64_t unlimited[KF_LEDGER_LIMIT_COUNT];
	for (int i = 0; i < KF_LEDGER_LIMIT_COUNT; i++)
		unlimited[i] = KF_UNLIMITED;
	printf("allocbomb: set limits: %ld\n", kf_bank_set_limits(KF_KR_BANK, unlimited));

	unsigned long pages = 0, nodes = 0, meters = 0, banks = 0, domains = 0, depth = 0;
	long rc;
	if ((rc = kf_bank_buy_page(KF_KR_BANK, 9)) != KF_RC_OK)
		return fail("page", pages, rc);
	pages++;
	while ((rc = kf_bank_buy_page(KF_KR_BANK, 12)) == KF_RC_OK)
		pages++;
	if (rc != KF_RC_NO_SPACE)
		return fail("page", pages, rc);
	while ((rc = kf_bank_buy_node(KF_KR_BANK, 13)) == KF_RC_OK)
		nodes++;
	if (rc != KF_RC_NO_SPACE)
		return fail("node", nodes, rc);
	while ((rc = kf_bank_buy_meter(KF_KR_BANK, 1000, KF_KR_METER, 14)) == KF_RC_OK)
		meters++;
	if (rc != KF_RC_NO_SPACE)
		return fail("meter", meters, rc);
	if ((rc = kf_bank_buy_bank(KF_KR_BANK, unlimited, 10)) == KF_RC_OK)
		banks++;
	while (rc == KF_RC_OK && (rc = kf_bank_buy_bank(KF_KR_BANK, unlimited, 14)) == KF_RC_OK)
		banks++;
	if (rc != KF_RC_NO_SPACE)
		return fail("bank", banks, rc);
	while ((rc = kf_bank_buy_domain(KF_KR_BANK, KF_KIND_RV64, 14)) == KF_RC_OK)
		domains++;
	if (rc != KF_RC_NO_SPACE)
		return fail("domain", domains, rc);

	/* Nested sub-banks, each bought from the one before (register 11),
	 * below the first sub-bank bought above (register 10). */
	if (banks > 0) {
		rc = kf_bank_buy_bank(10, NULL, 11);
		while (rc == KF_RC_OK) {
			depth++;
			rc = kf_bank_buy_bank(11, NULL, 11);
		}
		if (rc != KF_RC_NO_SPACE && rc != KF_RC_RANGE)
			return fail("nested bank", depth, rc);
	}

	/* Selling frees space at once. */
	if ((rc = kf_bank_sell(KF_KR_BANK, 9)) != KF_RC_OK)
		return fail("(selling) page", pages, rc);
	if ((rc = kf_bank_buy_page(KF_KR_BANK, 12)) != KF_RC_OK)
		return fail("page after selling one", pages, rc);
	if ((rc = kf_bank_buy_page(KF_KR_BANK, 12)) != KF_RC_NO_SPACE)
		return fail("page after buying it back", pages + 1, rc);

	printf("allocbomb: %lu pages, %lu nodes, %lu meters, %lu banks, %lu domains, depth %lu, every refusal as expected\n",
	       pages, nodes, meters, banks, domains, depth);
	return 0;
}
