/*
 * illegal: invalid and privileged instructions, and ebreak.
 *
 * Keys: key register 1 (console), 5 (exit); its domain keeper must be
 * recover (recover.c). Argv: argv[1] = rounds over the table (default 20).
 *
 * Each entry of the table below is one instruction followed by `jr t6`;
 * the program jumps to it with t6 pointing back (a probe, see hostile.h).
 * An instruction that does not trap runs and comes back through the jr.
 * Expected outcomes:
 *
 *   privileged (mret, sret, uret, wfi, sfence.vma, reading or writing
 *   mstatus or satp, writing the read-only cycle counter), instructions of
 *   extensions rv64imac lacks (F, D: fadd.d, flw, c.fld; the fflags CSR),
 *   reserved and custom encodings (all zeros, all ones, longer-than-32-bit
 *   length prefixes, custom-0, c.lui with a zero immediate): a trap to the
 *   domain keeper, KF_TRAP_ILLEGAL, with the instruction bits as the detail
 *   (zero-extended for a 16-bit instruction);
 *   ebreak and c.ebreak: KF_TRAP_BREAKPOINT with the bits;
 *   the user-level counters (rdcycle, rdtime, rdinstret), fence, fence.i,
 *   nop, mul and a division by zero: no trap.
 *
 * Expected console output (exit 0), for R rounds of the 31 entries:
 *
 *	illegal: N instructions, T trapped, all as expected
 *
 * On a mismatch it prints what it got and what it wanted (at most five
 * lines), then "illegal: M of N unexpected", and exits 1.
 */
#include "hostile.h"

/* Each entry: 4 bytes of instruction (a 16-bit one padded with c.nop),
 * then jalr x0, 0(t6). */
#define E32(w) ".word " #w "\n\t.word 0x000f8067\n\t"
#define E16(h) ".half " #h "\n\t.half 0x0001\n\t.word 0x000f8067\n\t"

__asm__(".section .text.hz_insns, \"ax\", @progbits\n\t"
	".balign 8\n\t"
	".globl hz_insns\n"
	"hz_insns:\n\t"
	E32(0x30200073) /* mret */
	E32(0x10200073) /* sret */
	E32(0x00200073) /* uret */
	E32(0x10500073) /* wfi */
	E32(0x12000073) /* sfence.vma */
	E32(0x30002f73) /* csrrs t5, mstatus, x0 */
	E32(0x18002f73) /* csrrs t5, satp, x0 */
	E32(0x30005073) /* csrrwi x0, mstatus, 0 */
	E32(0xc00f1073) /* csrrw x0, cycle, t5 */
	E32(0x00102f73) /* csrrs t5, fflags, x0 */
	E32(0x02007053) /* fadd.d f0, f0, f0 */
	E32(0x000f2007) /* flw f0, 0(t5) */
	E16(0x2000)     /* c.fld f8, 0(s0) */
	E32(0x00000000) /* all zeros (c.unimp) */
	E32(0xffffffff) /* all ones */
	E32(0x0000003f) /* 48-bit length prefix */
	E32(0x0000007f) /* 64-bit length prefix */
	E32(0x0000000b) /* custom-0 */
	E16(0x6f01)     /* c.lui t5, 0 (reserved) */
	E32(0x00100073) /* ebreak */
	E16(0x9002)     /* c.ebreak */
	E32(0xc0002f73) /* rdcycle t5 */
	E32(0xc0102f73) /* rdtime t5 */
	E32(0xc0202f73) /* rdinstret t5 */
	E32(0x0ff0000f) /* fence */
	E32(0x0000100f) /* fence.i */
	E32(0x00000013) /* nop */
	E32(0x02000f33) /* mul t5, x0, x0 */
	E32(0x02004f33) /* div t5, x0, x0 */
	E32(0x02005f33) /* divu t5, x0, x0 */
	E32(0x02006f33) /* rem t5, x0, x0 */
	".previous");

extern const char hz_insns[];

static const struct {
	const char *name;
	long trap;
	uint64_t detail;
} table[] = {
	{ "mret", KF_TRAP_ILLEGAL, 0x30200073 },
	{ "sret", KF_TRAP_ILLEGAL, 0x10200073 },
	{ "uret", KF_TRAP_ILLEGAL, 0x00200073 },
	{ "wfi", KF_TRAP_ILLEGAL, 0x10500073 },
	{ "sfence.vma", KF_TRAP_ILLEGAL, 0x12000073 },
	{ "csrr mstatus", KF_TRAP_ILLEGAL, 0x30002f73 },
	{ "csrr satp", KF_TRAP_ILLEGAL, 0x18002f73 },
	{ "csrwi mstatus", KF_TRAP_ILLEGAL, 0x30005073 },
	{ "csrw cycle", KF_TRAP_ILLEGAL, 0xc00f1073 },
	{ "csrr fflags", KF_TRAP_ILLEGAL, 0x00102f73 },
	{ "fadd.d", KF_TRAP_ILLEGAL, 0x02007053 },
	{ "flw", KF_TRAP_ILLEGAL, 0x000f2007 },
	{ "c.fld", KF_TRAP_ILLEGAL, 0x2000 },
	{ "zeros", KF_TRAP_ILLEGAL, 0 },
	{ "ones", KF_TRAP_ILLEGAL, 0xffffffff },
	{ "48-bit", KF_TRAP_ILLEGAL, ~0ULL },
	{ "64-bit", KF_TRAP_ILLEGAL, ~0ULL },
	{ "custom-0", KF_TRAP_ILLEGAL, 0x0000000b },
	{ "c.lui 0", KF_TRAP_ILLEGAL, 0x6f01 },
	{ "ebreak", KF_TRAP_BREAKPOINT, 0x00100073 },
	{ "c.ebreak", KF_TRAP_BREAKPOINT, 0x9002 },
	{ "rdcycle", 0, 0 },
	{ "rdtime", 0, 0 },
	{ "rdinstret", 0, 0 },
	{ "fence", 0, 0 },
	{ "fence.i", 0, 0 },
	{ "nop", 0, 0 },
	{ "mul", 0, 0 },
	{ "div", 0, 0 },
	{ "divu", 0, 0 },
	{ "rem", 0, 0 },
};

#define ENTRIES (sizeof table / sizeof table[0])

int main(int argc, char **argv)
{
	unsigned long rounds = hz_arg(argc, argv, 1, 20);
	unsigned long n = 0, trapped = 0, bad = 0;
	for (unsigned long r = 0; r < rounds; r++) {
		for (unsigned long i = 0; i < ENTRIES; i++) {
			uint64_t at = (uint64_t)(uintptr_t)(hz_insns + 8 * i);
			hz_trap t = hz_jump(at);
			n++;
			if (t.code != 0)
				trapped++;
			bad += (unsigned long)hz_expect("illegal", table[i].name, at, t,
							table[i].trap, table[i].detail,
							~0ULL, ~0ULL);
		}
	}
	if (bad) {
		printf("illegal: %lu of %lu unexpected\n", bad, n);
		return 1;
	}
	printf("illegal: %lu instructions, %lu trapped, all as expected\n", n, trapped);
	return 0;
}
