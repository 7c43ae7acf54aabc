/*
 * hostile.h: what the hostile programs (sdk/hostile/NAME.c) share.
 *
 * The hostile programs attack the kernel from user mode; the Go tests in
 * hostile/ run them beside well-behaved programs and check what each gets.
 * This header gives them:
 *
 *   - hz_rand, a xorshift64* generator, so that a run is a function of its
 *     seed (argv[1] by convention);
 *   - probes: single instructions that may trap, run so that the recover
 *     keeper (recover.c) can turn the trap into a value. A probe puts the
 *     address just after the instruction in t6 (x31) and zeroes a0..a3;
 *     recover, called as the domain keeper with a domain key, sets pc to t6
 *     and a0..a3 to the trap code, detail, address and access kind, and
 *     restarts the domain. So a probe returns {0, ...} if the instruction
 *     did not trap and the trap's description if it did;
 *   - hz_spawn, a thread: a new rv64 domain sharing this program's address
 *     space, meter, keeper and key registers, running a C function on a
 *     stack of its own.
 *
 * Everything is static inline or static; each program includes it once.
 */
#ifndef KEYFISH_HOSTILE_H
#define KEYFISH_HOSTILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <keyfish.h>

/* ------------------------------------------------------------------ */
/* Random numbers.                                                     */

/* hz_rand returns the next number of the xorshift64* sequence in *s (which
 * must not be zero). */
static inline uint64_t hz_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* hz_seed turns argv[i] (decimal) into a generator state, default dflt. */
static inline uint64_t hz_seed(int argc, char **argv, int i, uint64_t dflt)
{
	uint64_t s = argc > i ? strtoull(argv[i], NULL, 10) : dflt;
	s = s * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
	return s ? s : 1;
}

/* hz_arg returns argv[i] as an unsigned number, default dflt. */
static inline unsigned long hz_arg(int argc, char **argv, int i,
				   unsigned long dflt)
{
	return argc > i ? strtoul(argv[i], NULL, 10) : dflt;
}

/* ------------------------------------------------------------------ */
/* Probes (need recover.c as the domain keeper).                       */

/* hz_trap is what a probe reports: code is 0 when the instruction did not
 * trap, else a KF_TRAP_...; detail, addr and access are the trap message's
 * words KF_TRAP_MSG_DETAIL, _ADDR and _ACCESS. */
typedef struct hz_trap {
	long code;
	uint64_t detail;
	uint64_t addr;
	uint64_t access;
} hz_trap;

/*
 * HZ_PROBE runs the instruction text insn with the recovery address in t6
 * and a0..a3 zero; operands %4 onwards are the caller's. Registers t5 and
 * t6 are clobbered (instructions under test write only t5).
 */
#define HZ_PROBE(insn, ...)                                                   \
	do {                                                                  \
		register long hz_a0 __asm__("a0") = 0;                        \
		register uint64_t hz_a1 __asm__("a1") = 0;                    \
		register uint64_t hz_a2 __asm__("a2") = 0;                    \
		register uint64_t hz_a3 __asm__("a3") = 0;                    \
		__asm__ __volatile__("lla t6, 1f\n\t" insn "\n1:"            \
				     : "+r"(hz_a0), "+r"(hz_a1), "+r"(hz_a2), \
				       "+r"(hz_a3)__VA_ARGS__                 \
				     : "t5", "t6", "memory");                 \
		hz_t.code = hz_a0;                                            \
		hz_t.detail = hz_a1;                                          \
		hz_t.addr = hz_a2;                                            \
		hz_t.access = hz_a3;                                          \
	} while (0)

/* hz_load reads size (1, 2, 4 or 8) bytes at addr into *out. */
static inline hz_trap hz_load(uint64_t addr, int size, uint64_t *out)
{
	hz_trap hz_t;
	uint64_t v = 0;
	switch (size) {
	case 1:
		HZ_PROBE("lbu %4, 0(%5)", , "+&r"(v) : "r"(addr));
		break;
	case 2:
		HZ_PROBE("lhu %4, 0(%5)", , "+&r"(v) : "r"(addr));
		break;
	case 4:
		HZ_PROBE("lwu %4, 0(%5)", , "+&r"(v) : "r"(addr));
		break;
	default:
		HZ_PROBE("ld %4, 0(%5)", , "+&r"(v) : "r"(addr));
		break;
	}
	if (out)
		*out = v;
	return hz_t;
}

/* hz_store writes the low size (1, 2, 4 or 8) bytes of v at addr. */
static inline hz_trap hz_store(uint64_t addr, int size, uint64_t v)
{
	hz_trap hz_t;
	switch (size) {
	case 1:
		HZ_PROBE("sb %5, 0(%4)", : "r"(addr), "r"(v));
		break;
	case 2:
		HZ_PROBE("sh %5, 0(%4)", : "r"(addr), "r"(v));
		break;
	case 4:
		HZ_PROBE("sw %5, 0(%4)", : "r"(addr), "r"(v));
		break;
	default:
		HZ_PROBE("sd %5, 0(%4)", : "r"(addr), "r"(v));
		break;
	}
	return hz_t;
}

/* hz_amo does an amoadd of v at addr (size 4 or 8); *old gets the old
 * value. */
static inline hz_trap hz_amoadd(uint64_t addr, int size, uint64_t v,
				uint64_t *old)
{
	hz_trap hz_t;
	uint64_t o = 0;
	if (size == 4)
		HZ_PROBE("amoadd.w %4, %6, (%5)", , "+&r"(o) : "r"(addr), "r"(v));
	else
		HZ_PROBE("amoadd.d %4, %6, (%5)", , "+&r"(o) : "r"(addr), "r"(v));
	if (old)
		*old = o;
	return hz_t;
}

/* hz_lr does a load-reserved of size 4 or 8 at addr. */
static inline hz_trap hz_lr(uint64_t addr, int size)
{
	hz_trap hz_t;
	uint64_t o = 0;
	if (size == 4)
		HZ_PROBE("lr.w %4, (%5)", , "+&r"(o) : "r"(addr));
	else
		HZ_PROBE("lr.d %4, (%5)", , "+&r"(o) : "r"(addr));
	return hz_t;
}

/* hz_sc does a store-conditional of size 4 or 8 at addr. */
static inline hz_trap hz_sc(uint64_t addr, int size, uint64_t v)
{
	hz_trap hz_t;
	uint64_t o = 0;
	if (size == 4)
		HZ_PROBE("sc.w %4, %6, (%5)", , "+&r"(o) : "r"(addr), "r"(v));
	else
		HZ_PROBE("sc.d %4, %6, (%5)", , "+&r"(o) : "r"(addr), "r"(v));
	return hz_t;
}

/* hz_jump jumps to addr. Whatever is there must trap at once (or be a
 * `jr t6`): the recover keeper brings the program back. */
static inline hz_trap hz_jump(uint64_t addr)
{
	hz_trap hz_t;
	HZ_PROBE("jr %4", : "r"(addr));
	return hz_t;
}

/* hz_expect compares a probe's outcome with what should have happened,
 * and prints the first few mismatches prefixed with who and what. It
 * returns 1 on a mismatch. A detail, addr or access of ~0 is not
 * compared. */
static __attribute__((unused)) unsigned long hz_mismatches;

static inline int hz_expect(const char *who, const char *what, uint64_t arg,
			    hz_trap got, long code, uint64_t detail,
			    uint64_t addr, uint64_t access)
{
	if (got.code == code &&
	    (code == 0 || ((detail == ~0ULL || got.detail == detail) &&
			   (addr == ~0ULL || got.addr == addr) &&
			   (access == ~0ULL || got.access == access))))
		return 0;
	if (hz_mismatches++ < 5)
		printf("%s: %s %#lx: got trap %ld detail %#lx addr %#lx access %lu, "
		       "want trap %ld detail %#lx addr %#lx access %lu\n",
		       who, what, (unsigned long)arg, got.code,
		       (unsigned long)got.detail, (unsigned long)got.addr,
		       (unsigned long)got.access, code, (unsigned long)detail,
		       (unsigned long)addr, (unsigned long)access);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Threads.                                                            */

static __attribute__((unused)) void
hz_thread_entry(uint64_t arg, void (*fn)(uint64_t))
{
	fn(arg);
	for (;;)
		kf_wait(NULL);
}

/*
 * hz_spawn starts fn(arg) in a new rv64 domain bought from the bank in key
 * register bank: it shares this program's address space, meter and keeper,
 * gets copies of key registers 1..11 (but dst and tmp; its register
 * KF_KR_SELF holds its own domain key), and runs on the stack whose top is
 * stack_top (16-byte aligned). Its domain key lands in dst; tmp is scratch.
 * When fn returns the thread waits forever (available). Returns KF_RC_OK or
 * the first failing return code.
 */
static __attribute__((unused)) long
hz_spawn_at(unsigned bank, unsigned dst, unsigned tmp, void (*fn)(uint64_t),
	    uint64_t arg, void *stack_top, long home);

static __attribute__((unused)) long
hz_spawn(unsigned bank, unsigned dst, unsigned tmp, void (*fn)(uint64_t),
	 uint64_t arg, void *stack_top)
{
	return hz_spawn_at(bank, dst, tmp, fn, arg, stack_top, -1);
}

/*
 * hz_spawn_at is hz_spawn with the thread moved to cluster home first (if
 * home >= 0 and that cluster is of its kind; otherwise it stays in the
 * cluster it was bought in).
 */
static __attribute__((unused)) long
hz_spawn_at(unsigned bank, unsigned dst, unsigned tmp, void (*fn)(uint64_t),
	    uint64_t arg, void *stack_top, long home)
{
	static const unsigned long slots[] = { KF_SLOT_METER, KF_SLOT_KEEPER,
					       KF_SLOT_SPACE };
	long rc = kf_bank_buy_domain(bank, KF_KIND_RV64, dst);
	if (rc != KF_RC_OK)
		return rc;
	for (unsigned i = 0; i < sizeof slots / sizeof slots[0]; i++) {
		if ((rc = kf_domain_get_slot(KF_KR_SELF, slots[i], tmp)) != KF_RC_OK ||
		    (rc = kf_domain_set_slot(dst, slots[i], tmp)) != KF_RC_OK)
			return rc;
	}
	for (unsigned i = 1; i < 12; i++) {
		if (i == dst || i == tmp || i == KF_KR_SELF)
			continue;
		if ((rc = kf_domain_get_key_reg(KF_KR_SELF, i, tmp)) != KF_RC_OK ||
		    (rc = kf_domain_set_key_reg(dst, i, tmp)) != KF_RC_OK)
			return rc;
	}
	if ((rc = kf_domain_set_key_reg(dst, KF_KR_SELF, dst)) != KF_RC_OK)
		return rc;
	uint64_t regs[KF_REGS_WORDS] = { 0 }, gp, tp;
	__asm__("mv %0, gp" : "=r"(gp));
	__asm__("mv %0, tp" : "=r"(tp));
	regs[KF_REGS_PC] = (uint64_t)(uintptr_t)hz_thread_entry;
	regs[2] = (uint64_t)(uintptr_t)stack_top;
	regs[3] = gp;
	regs[4] = tp;
	regs[10] = arg;
	regs[11] = (uint64_t)(uintptr_t)fn;
	if ((rc = kf_domain_set_regs(dst, regs, KF_REGS_WORDS)) != KF_RC_OK)
		return rc;
	if (home >= 0)
		kf_domain_set_home(dst, (uint64_t)home);
	return kf_domain_run(dst);
}

/* hz_other_cluster returns the index of the other of two rv64 clusters
 * (2*rv64:1,...: 0 or 1) than the one this domain is homed in, or -1 when
 * this domain's cluster is not 0 or 1. */
static inline long hz_other_cluster(void)
{
	uint64_t st[KF_DOMAIN_STATE_WORDS] = { 0 };
	if (kf_domain_state(KF_KR_SELF, st) != KF_RC_OK || st[KF_DOMAIN_STATE_HOME] > 1)
		return -1;
	return (long)(st[KF_DOMAIN_STATE_HOME] ^ 1);
}

/* hz_yield gives the core away for a moment: it waits for the clock (key
 * register KF_KR_CLOCK) to pass 20 microseconds from now. */
static inline void hz_yield(void)
{
	uint64_t now = 0;
	kf_clock_read(KF_KR_CLOCK, &now);
	kf_clock_wait_until(KF_KR_CLOCK, now + 20000);
}

/* hz_wait_for waits, yielding, until *word equals want (read with acquire
 * order). */
static inline void hz_wait_for(volatile uint64_t *word, uint64_t want)
{
	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) != want)
		hz_yield();
}

/* hz_spin waits, yielding, until *flag is nonzero. */
static inline void hz_spin(volatile uint64_t *flag)
{
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0)
		hz_yield();
}

#endif /* KEYFISH_HOSTILE_H */
