/*
 * recover: a domain keeper that turns traps into values, for the probes of
 * hostile.h.
 *
 * Keys: none from the launcher; it is started so that it becomes available,
 * and its start key is put in the keeper slot of the programs it serves.
 *
 * For each trap message (order a KF_TRAP_..., the trap words as the string,
 * key 0 a domain key to the trapped domain, key 3 a restart key) it reads
 * the domain's registers, sets pc to t6 (x31, where a probe keeps the
 * address after the probed instruction) and a0..a3 to the trap code,
 * detail, address and access kind, writes the registers back and RETURNs
 * order 0 through the restart key: the domain goes on after the probe. A
 * domain whose t6 is zero, or a message that is not a trap, is declined
 * (order 1): a trapped domain then stops, recording its trap. Only
 * illegal instructions, breakpoints, misaligned accesses and faults are
 * turned into values.
 *
 * Expected console output: none. It never exits.
 */
#include "hostile.h"

static uint64_t words[KF_TRAP_MSG_WORDS];

int main(void)
{
	kf_recv r = { .buf = words, .cap = sizeof words, .keys = KF_RECV_KEY_REGS };
	kf_wait(&r);
	for (;;) {
		uint64_t regs[KF_REGS_WORDS];
		unsigned long n = 0;
		long order = 1;
		if (r.order >= KF_TRAP_ILLEGAL && r.order <= KF_TRAP_FAULT &&
		    kf_recv_len(&r) == sizeof words &&
		    kf_domain_get_regs(KF_KR_RECV0, regs, &n) == KF_RC_OK &&
		    n == KF_REGS_WORDS && regs[31] != 0) {
			regs[KF_REGS_PC] = regs[31];
			regs[10] = words[KF_TRAP_MSG_CODE];
			regs[11] = words[KF_TRAP_MSG_DETAIL];
			regs[12] = words[KF_TRAP_MSG_ADDR];
			regs[13] = words[KF_TRAP_MSG_ACCESS];
			if (kf_domain_set_regs(KF_KR_RECV0, regs, KF_REGS_WORDS) == KF_RC_OK)
				order = 0;
		}
		kf_send s = { .order = order };
		kf_reply(&s, &r);
	}
}
