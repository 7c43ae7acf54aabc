/*
 * outgrow: buys pages from its own bank until the bank refuses.
 *
 * Keys: key register 2 (bank), 1 (console), 5 (exit); key register 12 is
 * scratch (each bought page's key lands there and is dropped; the page stays
 * bought). Argv: ignored. The bank should have a limit (a sub-bank with a
 * page or byte limit), or outgrow runs until the machine's storage is used.
 *
 * Once the bank is exhausted nothing can grow: the demand-zero stack and
 * heap are paid for by the same bank. So outgrow first touches 16 KiB of
 * stack, uses no heap, and keeps its stdout buffer in bss (part of the
 * image).
 *
 * Expected console output (exit 0), N being the pages bought before the
 * refusal (the bank's limit less what it had already paid for):
 *
 *	outgrow: bank refused after N pages
 *
 * If a purchase fails with another return code it prints
 *	outgrow: buying page N failed: RC
 * and exits 1.
 */
#include <stdio.h>

#include <keyfish.h>

#define STACK_RESERVE (16 * 1024)

/* reserve_stack touches STACK_RESERVE bytes below the caller's frame. */
static void __attribute__((noinline)) reserve_stack(void)
{
	volatile char area[STACK_RESERVE];
	for (unsigned long i = 0; i < sizeof area; i += KF_LIMIT_PAGE_SIZE)
		area[i] = 0;
	area[sizeof area - 1] = 0;
}

int main(void)
{
	reserve_stack();

	unsigned long n = 0;
	for (;;) {
		long rc = kf_bank_buy_page(KF_KR_BANK, KF_KR_RECV0);
		if (rc == KF_RC_NO_SPACE)
			break;
		if (rc != KF_RC_OK) {
			printf("outgrow: buying page %lu failed: %ld\n", n, rc);
			return 1;
		}
		n++;
	}
	printf("outgrow: bank refused after %lu pages\n", n);
	return 0;
}
