/*
 * ecalls: ecalls with random arguments.
 *
 * Keys: key register 1 (console), 2 (its bank), 3 (its meter), 4 (itself),
 * 5 (exit); 8 (KF_KR_ARG0) a start key to a pong, 9 the discrim, 10 the
 * returner; register 6 should be empty (a random clock wait could last for
 * ever). Its domain keeper must be recover (recover.c). Argv:
 *   ecalls SEED N   N ecalls with arguments drawn from SEED (default 1,
 *                   2000);
 *   ecalls buf      the ecalls described by the page mounted at
 *                   0x3000_0000 (the fuzz target FuzzEcall fills it): word
 *                   0 is the number of records (at most 56), then records
 *                   of 9 words: flags, a0..a7. Flag bit 0 makes a2 an offset
 *                   into the program's send buffer, bit 1 makes a5 an
 *                   offset into its receive buffer; otherwise they are
 *                   used as they are.
 *
 * Before the ecalls it buys, from a sub-bank, a playground: register 11 a
 * sub-bank, 12 a node, 13 a page, 14 a meter under its own, 15 a domain
 * key to a stopped domain. Random arguments are drawn to be plausible
 * most of the time (a key register among 0, 1 and 8..15, a small order
 * code, the program's own buffers, receive registers among 0 and 11..15)
 * and entirely random otherwise (a few percent per register), so that any
 * register may hold anything: any key register, invocation type and
 * order, any address and length, any key lists.
 *
 * Every ecall is a probe (hostile.h): an ecall whose send string cannot be
 * read traps to recover and comes back with a0 = KF_TRAP_FAULT. Each gets
 * a return code, or a trap; nothing else. A random ecall can also end the
 * program: a RETURN makes it available and nobody calls it; stopping or
 * destroying itself; sending its registers somewhere. That is allowed.
 *
 * Expected console output, when it gets to the end (exit 0):
 *
 *	ecalls: N ecalls done
 */
#include <string.h>

#include "hostile.h"

static uint64_t sbuf[KF_LIMIT_STRING / 8 + 8];
static uint64_t rbuf[KF_LIMIT_STRING / 8 + 8];

/* ecall issues one ecall as a probe and returns a0. */
static long ecall(uint64_t a[8])
{
	register uint64_t a0 __asm__("a0") = a[0];
	register uint64_t a1 __asm__("a1") = a[1];
	register uint64_t a2 __asm__("a2") = a[2];
	register uint64_t a3 __asm__("a3") = a[3];
	register uint64_t a4 __asm__("a4") = a[4];
	register uint64_t a5 __asm__("a5") = a[5];
	register uint64_t a6 __asm__("a6") = a[6];
	register uint64_t a7 __asm__("a7") = a[7];
	__asm__ __volatile__("lla t6, 1f\n\tecall\n1:"
			     : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3)
			     : "r"(a4), "r"(a5), "r"(a6), "r"(a7)
			     : "t6", "memory");
	return (long)a0;
}

static int playground(void)
{
	uint64_t none[KF_LEDGER_LIMIT_COUNT];
	for (int i = 0; i < KF_LEDGER_LIMIT_COUNT; i++)
		none[i] = KF_UNLIMITED;
	return kf_bank_buy_bank(KF_KR_BANK, none, 11) != KF_RC_OK ||
	       kf_bank_buy_node(11, 12) != KF_RC_OK ||
	       kf_bank_buy_page(11, 13) != KF_RC_OK ||
	       kf_bank_buy_meter(11, 1000000, KF_KR_METER, 14) != KF_RC_OK ||
	       kf_bank_buy_domain(11, KF_KIND_RV64, 15) != KF_RC_OK;
}

static uint64_t pick(uint64_t *s, uint64_t plausible)
{
	return hz_rand(s) % 32 == 0 ? hz_rand(s) : plausible;
}

static void draw(uint64_t *s, uint64_t a[8])
{
	static const unsigned targets[] = { 0, 1, 8, 9, 10, 11, 12, 13, 14, 15 };
	static const unsigned recvs[] = { 0, 11, 12, 13, 14, 15 };
	uint64_t r = hz_rand(s);
	uint64_t type = r % 100 < 70 ? KF_INV_CALL : r % 100 < 99 ? KF_INV_FORK : KF_INV_RETURN;
	a[0] = pick(s, KF_DESC(targets[hz_rand(s) % 10], type));
	uint64_t o = hz_rand(s) % 10;
	a[1] = pick(s, o < 7 ? hz_rand(s) % 17 : o < 8 ? KF_OC_KEY_TYPE : hz_rand(s));
	a[2] = pick(s, (uint64_t)(uintptr_t)sbuf);
	a[3] = pick(s, hz_rand(s) % 4 ? hz_rand(s) % 33 : hz_rand(s) % (KF_LIMIT_STRING + 1));
	a[4] = pick(s, hz_rand(s) & 0xffff);
	a[5] = pick(s, (uint64_t)(uintptr_t)rbuf);
	a[6] = pick(s, hz_rand(s) % (KF_LIMIT_STRING + 1));
	a[7] = pick(s, KF_KEYS(recvs[hz_rand(s) % 6], recvs[hz_rand(s) % 6],
			       recvs[hz_rand(s) % 6], recvs[hz_rand(s) % 6]));
	/* the string: small words, so that slots, kinds and budgets hit */
	for (unsigned i = 0; i < 8; i++)
		sbuf[i] = hz_rand(s) % 3 ? hz_rand(s) % 20 : hz_rand(s);
}

int main(int argc, char **argv)
{
	if (playground()) {
		printf("ecalls: cannot buy its playground\n");
		return 1;
	}
	unsigned long n = 0;
	if (argc > 1 && strcmp(argv[1], "buf") == 0) {
		const uint64_t *page = (const uint64_t *)0x30000000UL;
		unsigned long records = page[0] < 56 ? page[0] : 56;
		for (unsigned long i = 0; i < records; i++) {
			const uint64_t *rec = page + 1 + 9 * i;
			uint64_t a[8];
			memcpy(a, rec + 1, sizeof a);
			if (rec[0] & 1)
				a[2] = (uint64_t)(uintptr_t)sbuf + a[2] % sizeof sbuf;
			if (rec[0] & 2)
				a[5] = (uint64_t)(uintptr_t)rbuf + a[5] % sizeof rbuf;
			ecall(a);
			n++;
		}
	} else {
		uint64_t s = hz_seed(argc, argv, 1, 1);
		unsigned long count = hz_arg(argc, argv, 2, 2000);
		for (; n < count; n++) {
			uint64_t a[8];
			draw(&s, a);
			ecall(a);
		}
	}
	printf("ecalls: %lu ecalls done\n", n);
	return 0;
}
