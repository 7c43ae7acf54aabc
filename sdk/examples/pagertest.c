/*
 * pagertest: touches pages of a red segment kept by pager, then asks pager
 * how many faults it served.
 *
 * Address space: the standard one plus a red segment of size 1 mapped at
 * 0x2000_0000 (0x2000_0000..0x2001_0000), with no pages in its slots 0..13
 * and pager's start key in its keeper slot 14 (format KF_RED_FORMAT(1, 14,
 * 14) in slot 15). The launcher builds it (see pager.c).
 * Keys: key register 8 (KF_KR_ARG0) holds pager's start key; 1 (console),
 * 5 (exit). Argv: ignored.
 *
 * For each of the 10 pages at 0x2000_0000 + 4096 * p (p = 0..9) it checks
 * that the page reads as zeros (the first read faults to pager), then
 * writes a pattern into every word; it then reads all 10 pages back, and
 * CALLs key register 8 with order 1 to get pager's fault count.
 *
 * Expected console output (exit 0), when pager serves nothing else:
 *
 *	pagertest: 10 pages ok, pager served 10 faults
 *
 * On a mismatch it prints
 *	pagertest: page P word W: got X, want Y
 * and exits 1; if the stats request fails,
 *	pagertest: stats request failed: RC
 * and exits 1.
 */
#include <stdio.h>

#include <keyfish.h>

#define PAGER KF_KR_ARG0
#define REGION 0x20000000UL
#define PAGES 10
#define WORDS (KF_LIMIT_PAGE_SIZE / sizeof(uint64_t))

static uint64_t pattern(unsigned long p, unsigned long w)
{
	return (p << 32 | w) * 0x9e3779b97f4a7c15UL ^ 0xa5a5a5a5a5a5a5a5UL;
}

static int check(unsigned long p, unsigned long w, uint64_t got,
		 uint64_t want)
{
	if (got == want)
		return 0;
	printf("pagertest: page %lu word %lu: got 0x%lx, want 0x%lx\n", p, w,
	       (unsigned long)got, (unsigned long)want);
	return 1;
}

int main(void)
{
	volatile uint64_t *mem = (volatile uint64_t *)REGION;

	for (unsigned long p = 0; p < PAGES; p++) {
		volatile uint64_t *page = mem + p * WORDS;
		for (unsigned long w = 0; w < WORDS; w++)
			if (check(p, w, page[w], 0))
				return 1;
		for (unsigned long w = 0; w < WORDS; w++)
			page[w] = pattern(p, w);
	}
	for (unsigned long p = 0; p < PAGES; p++) {
		volatile uint64_t *page = mem + p * WORDS;
		for (unsigned long w = 0; w < WORDS; w++)
			if (check(p, w, page[w], pattern(p, w)))
				return 1;
	}

	long served = kf_call_keys(PAGER, 1, 0, 0);
	if (served < 0) {
		printf("pagertest: stats request failed: %ld\n", served);
		return 1;
	}
	printf("pagertest: %d pages ok, pager served %ld faults\n", PAGES,
	       served);
	return 0;
}
