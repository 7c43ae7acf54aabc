/*
 * dombomb: a domain bomb. Every domain it makes makes more, until the bank
 * refuses.
 *
 * Keys: key register 1 (console), 2 (its bank), 3 (its meter), 4 (itself),
 * 5 (exit); 9 and 10 are scratch. Argv: ignored.
 *
 * The bomb's children run bomb_child (below, in assembly: it needs no
 * stack and no memory but four counters) in the bomb's own address space.
 * bomb_child loops: buy an rv64 domain from the bank (key register 2) into
 * key register 9; give it the meter (3) and the address space (10) in its
 * root slots, the same three key registers, a register file whose pc is
 * bomb_child; move it to cluster 0 or 1 (alternately; refused where that
 * is not an rv64 cluster); make it run. When a purchase is refused it
 * records the return code and waits forever (RETURN to DK(0): available,
 * using no CPU). main does the same as its children until its own
 * purchase is refused, then reports and exits.
 *
 * So the number of domains grows exponentially until the bank's domain
 * limit (or its bytes) stops it. Expected: every refusal is
 * KF_RC_NO_SPACE; the bank ends up holding exactly as many domains as its
 * limit allows; the meter, shared by all, bounds the CPU they take.
 *
 * Expected console output (exit 0):
 *
 *	dombomb: made N children, then the bank refused: -4
 */
#include "hostile.h"

uint64_t bomb_born, bomb_refused, bomb_setup_failed;
int64_t bomb_last_rc;

/* Word strings for the ecalls: a kind, slot and register numbers, and the
 * register file of a child (pc = bomb_child, everything else 0). */
__asm__(".section .rodata.bomb, \"a\", @progbits\n\t"
	".balign 8\n"
	"bomb_w_kind: .dword 1\n"	/* KF_KIND_RV64 */
	"bomb_w_0: .dword 0\n"
	"bomb_w_1: .dword 1\n"
	"bomb_w_2: .dword 2\n"
	"bomb_w_3: .dword 3\n"
	"bomb_w_10: .dword 10\n"
	"bomb_regs: .dword bomb_child\n\t"
	".zero 31*8\n\t"
	".previous");

/* ECALL(kr, type, order, str, len, sendkeys, recvkeys) in assembly. */
#define ECALL(desc, order, str, len, send, recv)                          \
	"li a0, " #desc "\n\t"                                            \
	"li a1, " #order "\n\t"                                           \
	str "\n\t"                                                        \
	"li a3, " #len "\n\t"                                             \
	"li a4, " #send "\n\t"                                            \
	"li a5, 0\n\t"                                                    \
	"li a6, 0\n\t"                                                    \
	"li a7, " #recv "\n\t"                                            \
	"ecall\n\t"

/* norelax: the linker must not turn lla into gp-relative addressing,
 * since a child's gp is zero. */
__asm__(".section .text.bomb_child, \"ax\", @progbits\n\t"
	".option push\n\t"
	".option norelax\n\t"
	".globl bomb_child\n"
	"bomb_child:\n"
	"1:\n\t"
	/* buy a domain from register 2 into register 9 */
	ECALL(2, 3, "lla a2, bomb_w_kind", 8, 0, 9)
	"bnez a0, 9f\n\t"
	/* root slots: meter (slot 1) from register 3, space (slot 3) from 10 */
	ECALL(9, 2, "lla a2, bomb_w_1", 8, 3, 0)
	"bnez a0, 8f\n\t"
	ECALL(9, 2, "lla a2, bomb_w_3", 8, 10, 0)
	"bnez a0, 8f\n\t"
	/* key registers 2, 3 and 10 */
	ECALL(9, 4, "lla a2, bomb_w_2", 8, 2, 0)
	"bnez a0, 8f\n\t"
	ECALL(9, 4, "lla a2, bomb_w_3", 8, 3, 0)
	"bnez a0, 8f\n\t"
	ECALL(9, 4, "lla a2, bomb_w_10", 8, 10, 0)
	"bnez a0, 8f\n\t"
	/* its register file */
	ECALL(9, 6, "lla a2, bomb_regs", 256, 0, 0)
	"bnez a0, 8f\n\t"
	/* a home: cluster (born & 1); refused where that is not rv64 */
	"lla t0, bomb_born\n\t"
	"ld t1, 0(t0)\n\t"
	"andi t1, t1, 1\n\t"
	"slli t1, t1, 3\n\t"
	ECALL(9, 13, "lla a2, bomb_w_0\n\tadd a2, a2, t1", 8, 0, 0)
	/* run it */
	ECALL(9, 9, "li a2, 0", 0, 0, 0)
	"bnez a0, 8f\n\t"
	"lla t0, bomb_born\n\t"
	"li t1, 1\n\t"
	"amoadd.d x0, t1, (t0)\n\t"
	"j 1b\n"
	"8:\n\t"
	"lla t0, bomb_setup_failed\n\t"
	"li t1, 1\n\t"
	"amoadd.d x0, t1, (t0)\n\t"
	"j 1b\n"
	"9:\n\t"
	"lla t0, bomb_last_rc\n\t"
	"sd a0, 0(t0)\n\t"
	"lla t0, bomb_refused\n\t"
	"li t1, 1\n\t"
	"amoadd.d x0, t1, (t0)\n"
	"7:\n\t"
	ECALL(0x100, 0, "li a2, 0", 0, 0, 0)
	"j 7b\n\t"
	".option pop\n\t"
	".previous");

int main(void)
{
	/* Register 10: this program's address space, for the children. */
	long rc = kf_domain_get_slot(KF_KR_SELF, KF_SLOT_SPACE, 10);
	if (rc != KF_RC_OK) {
		printf("dombomb: cannot read its own space slot: %ld\n", rc);
		return 1;
	}
	unsigned long n = 0;
	for (;;) {
		rc = kf_bank_buy_domain(KF_KR_BANK, KF_KIND_RV64, 9);
		if (rc != KF_RC_OK)
			break;
		extern const uint64_t bomb_regs[];
		if (kf_domain_set_slot(9, KF_SLOT_METER, KF_KR_METER) != KF_RC_OK ||
		    kf_domain_set_slot(9, KF_SLOT_SPACE, 10) != KF_RC_OK ||
		    kf_domain_set_key_reg(9, 2, 2) != KF_RC_OK ||
		    kf_domain_set_key_reg(9, 3, 3) != KF_RC_OK ||
		    kf_domain_set_key_reg(9, 10, 10) != KF_RC_OK ||
		    kf_domain_set_regs(9, bomb_regs, KF_REGS_WORDS) != KF_RC_OK ||
		    kf_domain_run(9) != KF_RC_OK) {
			printf("dombomb: setting up child %lu failed\n", n);
			return 1;
		}
		n++;
	}
	printf("dombomb: made %lu children, then the bank refused: %ld\n", n, rc);
	return rc == KF_RC_NO_SPACE ? 0 : 1;
}
