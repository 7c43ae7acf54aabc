/*
 * guess: tries to reach keys it was never given, by guessing key register
 * numbers, slot numbers and object ids, and by weakening its way up.
 *
 * Keys: key register 1 (console), 2 (its bank), 3 (its meter), 4 (itself),
 * 5 (exit), 6 (the clock), 7 (the domain creator, a start key), 8
 * (KF_KR_ARG0: the discrim), 9 (KF_KR_ARG0 + 1: keybits, so that it learns
 * real object ids to guess from); every other register is empty at the
 * start. Argv: ignored.
 *
 * It checks, and counts as attempts:
 *   1. every key register it was not given is DK(0) (asked of the discrim,
 *      which classifies without invoking);
 *   2. out-of-range numbers are refused: key registers and root slots past
 *      the last (KF_RC_RANGE), node slots past 15 (KF_RC_RANGE), page
 *      offsets and lengths past the page (KF_RC_BAD_ARGUMENT), ecall
 *      descriptors, key lists and lengths with stray bits
 *      (KF_RC_BAD_INVOCATION); register 0 stays DK(0) whatever is put there;
 *   3. object ids: for ids next to those of its own objects, and for the
 *      first ids of every object kind, DK(id) is a data key whatever it
 *      does with it: invoking it returns id, the discrim and keybits see a
 *      data key without an object, a bank refuses to sell it
 *      (KF_RC_BAD_KEY), a domain whose address space maps only such keys
 *      faults (KF_TRAP_FAULT, nothing mapped) and stops;
 *   4. weakened keys stay weak: a sense key hands out a read-only page
 *      key, a sense key for a node key, and DK(0) for a bank, meter,
 *      domain or start key; a fetch key cannot swap; a weakened bank key
 *      cannot destroy; a read-only page key can neither write, clear, nor
 *      sell; segment keys cannot gain the red flag;
 *   5. rescinded keys stay dead: a copy of a page key sold is DK(0), also
 *      after new pages have been bought (perhaps in the same slot).
 *
 * Expected console output (exit 0):
 *
 *	guess: N attempts, no key gained
 *
 * A failed check prints "guess: WHAT: got X, want Y" (at most five) and
 * "guess: M of N attempts gained something", and it exits 1.
 */
#include "hostile.h"

#define DISCRIM 8
#define KEYBITS 9

static unsigned long attempts, bad;

static void check(const char *what, long got, long want)
{
	attempts++;
	if (got != want && bad++ < 5)
		printf("guess: %s: got %ld, want %ld\n", what, got, want);
}

#define WANT(expr, want) check(#expr, (long)(expr), (long)(want))

/* cls classifies the key in register kr; *n gets a data key's value. */
static long cls(unsigned kr, uint64_t *n)
{
	return kf_discrim_classify(DISCRIM, kr, n);
}

static uint64_t object_id(unsigned kr)
{
	uint64_t w[KF_KEYBITS_WORDS] = { 0 };
	kf_keybits(KEYBITS, kr, w);
	return w[KF_KEYBITS_OBJECT];
}

/* raw issues one ecall with the given registers; returns a0. */
static long raw(unsigned long a0, unsigned long a1, unsigned long a3,
		unsigned long a4, unsigned long a7)
{
	static uint64_t buf[KF_LIMIT_STRING / 8 + 1];
	return kf_invoke(a0, (long)a1, buf, a3, a4, buf, 8, a7).rc;
}

static void registers(void)
{
	static const long want[16] = {
		[0] = KF_DISCRIM_DATA, [1] = KF_DISCRIM_OTHER, [2] = KF_DISCRIM_OTHER,
		[3] = KF_DISCRIM_OTHER, [4] = KF_DISCRIM_OTHER, [5] = KF_DISCRIM_GATE,
		[6] = KF_DISCRIM_OTHER, [7] = KF_DISCRIM_GATE, [8] = KF_DISCRIM_OTHER,
		[9] = KF_DISCRIM_OTHER,
	};
	for (unsigned r = 0; r < 16; r++) {
		uint64_t n = 99;
		long c = cls(r, &n);
		check("class of a key register", c, want[r]);
		if (want[r] == KF_DISCRIM_DATA)
			check("value of an empty key register", (long)n, 0);
	}
}

static void ranges(void)
{
	WANT(kf_domain_get_key_reg(KF_KR_SELF, 16, 12), KF_RC_RANGE);
	WANT(kf_domain_get_key_reg(KF_KR_SELF, ~0UL, 12), KF_RC_RANGE);
	WANT(kf_domain_get_key_reg(KF_KR_SELF, 1UL << 63, 12), KF_RC_RANGE);
	WANT(kf_domain_get_slot(KF_KR_SELF, KF_SLOT_COUNT, 12), KF_RC_RANGE);
	WANT(kf_domain_get_slot(KF_KR_SELF, ~0UL, 12), KF_RC_RANGE);
	WANT(kf_domain_set_key_reg(KF_KR_SELF, 16, 2), KF_RC_RANGE);
	WANT(kf_domain_set_key_reg(KF_KR_SELF, 0, 2), KF_RC_OK);
	uint64_t n = 99;
	WANT(cls(0, &n), KF_DISCRIM_DATA);
	WANT(n, 0);
	WANT(kf_domain_set_home(KF_KR_SELF, 1UL << 40), KF_RC_RANGE);

	WANT(kf_bank_buy_node(KF_KR_BANK, 10), KF_RC_OK);
	WANT(kf_node_fetch(10, 16, 12), KF_RC_RANGE);
	WANT(kf_node_fetch(10, ~0UL, 12), KF_RC_RANGE);
	WANT(kf_node_swap(10, 16, 2, 12), KF_RC_RANGE);
	WANT(kf_node_write_data(10, 99, 7), KF_RC_RANGE);
	WANT(kf_bank_buy_page(KF_KR_BANK, 11), KF_RC_OK);
	char b[16];
	WANT(kf_page_read(11, 4096, b, 1), KF_RC_BAD_ARGUMENT);
	WANT(kf_page_read(11, 0, b, 4097), KF_RC_BAD_ARGUMENT);
	WANT(kf_page_read(11, ~0UL, b, 1), KF_RC_BAD_ARGUMENT);
	WANT(kf_page_read(11, 4095, b, 2), KF_RC_BAD_ARGUMENT);
	WANT(kf_page_write(11, 4090, b, 16), KF_RC_BAD_ARGUMENT);

	/* ecalls with stray bits: key register bit 4, type 3, key lists and
	 * lengths past their fields. */
	WANT(raw(16 | KF_DESC(2, KF_INV_CALL), KF_OC_BANK_GET_LEDGER, 0, 0, 0), KF_RC_BAD_INVOCATION);
	WANT(raw(KF_DESC(2, 3), KF_OC_BANK_GET_LEDGER, 0, 0, 0), KF_RC_BAD_INVOCATION);
	WANT(raw(1UL << 63 | 2, KF_OC_BANK_GET_LEDGER, 0, 0, 0), KF_RC_BAD_INVOCATION);
	WANT(raw(2, KF_OC_BANK_GET_LEDGER, 0, 0x10000, 0), KF_RC_BAD_INVOCATION);
	WANT(raw(2, KF_OC_BANK_GET_LEDGER, 0, 0, 0x10000), KF_RC_BAD_INVOCATION);
	WANT(raw(2, KF_OC_BANK_GET_LEDGER, KF_LIMIT_STRING + 1, 0, 0), KF_RC_BAD_INVOCATION);
}

static void ids(void)
{
	uint64_t mine[5] = { object_id(KF_KR_BANK), object_id(KF_KR_METER), object_id(KF_KR_SELF),
			     object_id(10), object_id(11) };
	for (int i = 0; i < 5; i++)
		check("keybits names an object", mine[i] != 0, 1);
	/* The child domain: its space is node 10 as a segment, whose slots
	 * hold guessed ids as data keys. */
	WANT(kf_bank_buy_domain(KF_KR_BANK, KF_KIND_RV64, 13), KF_RC_OK);
	WANT(kf_domain_set_slot(13, KF_SLOT_METER, KF_KR_METER), KF_RC_OK);
	for (uint64_t k = 0; k < 5 * 16 + 5 * 32; k++) {
		uint64_t g = k < 5 * 16 ? mine[k / 16] + (k % 16) - 8
					: (k - 80) / 32 << 56 | (k - 80) % 32;
		WANT(kf_node_write_data(10, k % 15, g), KF_RC_OK);
		WANT(kf_node_fetch(10, k % 15, 12), KF_RC_OK);
		uint64_t n = 0;
		WANT(cls(12, &n), KF_DISCRIM_DATA);
		check("a guessed id's data key holds it", n == g, 1);
		check("keybits: no object behind a data key", object_id(12) == 0, 1);
		WANT(kf_call_keys(12, KF_OC_BANK_BUY_PAGE, 0, KF_KEY0(14)), (long)g);
		WANT(kf_bank_sell(KF_KR_BANK, 12), KF_RC_BAD_KEY);
		WANT(kf_discrim_compare(DISCRIM, 12, KF_KR_BANK), 0);
		WANT(kf_domain_set_slot(KF_KR_SELF, KF_SLOT_BRAND, 12), KF_RC_OK);
		WANT(kf_domain_get_slot(KF_KR_SELF, KF_SLOT_BRAND, 14), KF_RC_OK);
		WANT(cls(14, NULL), KF_DISCRIM_DATA);
	}
	WANT(kf_node_make_segment(10, 1, 0, 12), KF_RC_OK);
	WANT(kf_domain_set_slot(13, KF_SLOT_SPACE, 12), KF_RC_OK);
	uint64_t regs[KF_REGS_WORDS] = { [KF_REGS_PC] = 0x1000 };
	WANT(kf_domain_set_regs(13, regs, KF_REGS_WORDS), KF_RC_OK);
	WANT(kf_domain_run(13), KF_RC_OK);
	uint64_t st[KF_DOMAIN_STATE_WORDS] = { 0 };
	for (int i = 0; i < 1000; i++) {
		kf_domain_state(13, st);
		if (st[KF_DOMAIN_STATE_STATE] == KF_STATE_STOPPED)
			break;
		hz_yield();
	}
	WANT(st[KF_DOMAIN_STATE_STATE], KF_STATE_STOPPED);
	WANT(st[KF_DOMAIN_STATE_TRAP], KF_TRAP_FAULT);
	WANT(kf_bank_sell(KF_KR_BANK, 13), KF_RC_OK);
	WANT(kf_node_clear(10), KF_RC_OK);
}

static void weakening(void)
{
	/* node 10 holds: 1 bank, 2 page, 3 node 10 itself, 4 domain, 5 meter,
	 * 6 a start key (exit), 7 a segment key to node 10 */
	WANT(kf_node_swap(10, 1, KF_KR_BANK, 0), KF_RC_OK);
	WANT(kf_node_swap(10, 2, 11, 0), KF_RC_OK);
	WANT(kf_node_swap(10, 3, 10, 0), KF_RC_OK);
	WANT(kf_node_swap(10, 4, KF_KR_SELF, 0), KF_RC_OK);
	WANT(kf_node_swap(10, 5, KF_KR_METER, 0), KF_RC_OK);
	WANT(kf_node_swap(10, 6, KF_KR_EXIT, 0), KF_RC_OK);
	WANT(kf_node_make_segment(10, 2, 0, 12), KF_RC_OK);
	WANT(kf_node_swap(10, 7, 12, 0), KF_RC_OK);
	WANT(kf_node_make_sense(10, 13), KF_RC_OK);
	WANT(kf_node_swap(13, 1, 0, 0), KF_RC_NOT_PERMITTED);
	WANT(kf_node_write_data(13, 1, 0), KF_RC_NOT_PERMITTED);
	WANT(kf_node_clear(13), KF_RC_NOT_PERMITTED);
	WANT(kf_node_make_segment(13, 1, 0, 14), KF_RC_NOT_PERMITTED);
	for (unsigned long s = 1; s <= 7; s++) {
		WANT(kf_node_fetch(13, s, 14), KF_RC_OK);
		long c = cls(14, NULL);
		switch (s) {
		case 2: {
			WANT(c, KF_DISCRIM_MEMORY);
			char b = 1;
			WANT(kf_page_write(14, 0, &b, 1), KF_RC_NOT_PERMITTED);
			WANT(kf_page_clear(14), KF_RC_NOT_PERMITTED);
			WANT(kf_bank_sell(KF_KR_BANK, 14), KF_RC_BAD_KEY);
			break;
		}
		case 3:
			WANT(c, KF_DISCRIM_MEMORY);
			WANT(kf_key_type(14), KF_KT_SENSE);
			WANT(kf_node_swap(14, 1, 0, 0), KF_RC_NOT_PERMITTED);
			break;
		case 7: {
			WANT(c, KF_DISCRIM_MEMORY);
			uint64_t w[KF_KEYBITS_WORDS] = { 0 };
			kf_keybits(KEYBITS, 14, w);
			WANT(w[KF_KEYBITS_FLAGS] & (KF_FLAG_READ_ONLY | KF_FLAG_NO_CALL),
			     KF_FLAG_READ_ONLY | KF_FLAG_NO_CALL);
			break;
		}
		default: /* bank, domain, meter, start key: DK(0) */
			WANT(c, KF_DISCRIM_DATA);
			break;
		}
	}
	WANT(kf_node_make_fetch(10, 13), KF_RC_OK);
	WANT(kf_node_swap(13, 1, 0, 0), KF_RC_NOT_PERMITTED);
	WANT(kf_bank_weaken(KF_KR_BANK, 14), KF_RC_OK);
	WANT(kf_bank_destroy(14), KF_RC_NOT_PERMITTED);
	WANT(kf_page_weaken(11, 14), KF_RC_OK);
	WANT(kf_bank_sell(KF_KR_BANK, 14), KF_RC_BAD_KEY);
	WANT(kf_seg_weaken(12, KF_FLAG_RED, 14), KF_RC_BAD_ARGUMENT);
	WANT(kf_seg_weaken(12, 8, 14), KF_RC_BAD_ARGUMENT);
	WANT(kf_node_make_segment(10, 0, 0, 14), KF_RC_BAD_ARGUMENT);
	WANT(kf_node_make_segment(10, KF_LIMIT_MAX_SEG_SIZE + 1, 0, 14), KF_RC_BAD_ARGUMENT);
	WANT(kf_node_make_segment(10, 1, 8, 14), KF_RC_BAD_ARGUMENT);
	WANT(kf_node_clear(10), KF_RC_OK);
}

static void rescinded(void)
{
	/* A copy of page key 11 in node slot 0 and in register 12. */
	WANT(kf_node_swap(10, 0, 11, 0), KF_RC_OK);
	WANT(kf_node_fetch(10, 0, 12), KF_RC_OK);
	WANT(cls(12, NULL), KF_DISCRIM_MEMORY);
	WANT(kf_bank_sell(KF_KR_BANK, 11), KF_RC_OK);
	for (int i = 0; i < 8; i++) {
		uint64_t n = 99;
		WANT(cls(12, &n), KF_DISCRIM_DATA);
		WANT(n, 0);
		WANT(kf_key_type(12), 0);
		WANT(kf_node_fetch(10, 0, 13), KF_RC_OK);
		WANT(cls(13, NULL), KF_DISCRIM_DATA);
		WANT(kf_bank_buy_page(KF_KR_BANK, 14), KF_RC_OK);
		WANT(kf_discrim_compare(DISCRIM, 12, 14), 0);
	}
}

int main(void)
{
	registers();
	ranges();
	ids();
	weakening();
	rescinded();
	if (bad) {
		printf("guess: %lu of %lu attempts gained something\n", bad, attempts);
		return 1;
	}
	printf("guess: %lu attempts, no key gained\n", attempts);
	return 0;
}
