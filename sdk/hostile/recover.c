/*
 * recover: a domain keeper that turns traps into values, for the probes of
 * hostile.h.
 *
 * Keys: key register 8 (KF_KR_ARG0) holds keybits; it is started so that
 * it becomes available, and its start key is put in the keeper slot of the
 * programs it serves.
 *
 * For each trap message (order a KF_TRAP_..., the trap words as the string,
 * key 0 a domain key to the trapped domain, key 3 a restart key) it reads
 * the domain's registers, sets pc to t6 (x31, where a probe keeps the
 * address after the probed instruction) and a0..a3 to the trap code,
 * detail, address and access kind, writes the registers back and RETURNs
 * order 0 through the restart key: the domain goes on after the probe.
 * Only illegal instructions, breakpoints, misaligned accesses and faults
 * are turned into values; anything else, a domain whose t6 is zero, or one
 * that trapped at t6 itself (restarting it there would trap again, for
 * ever: a trapping instruction is not charged to its domain's meter), is
 * declined (order 1): a trapped domain then stops, recording its trap.
 *
 * Anyone who can get its start key (from a keeper slot, say) can send it
 * a message that looks like a trap. So it invokes nothing it was sent
 * before keybits has said what it is: key 0 must be a domain key, and it
 * answers only through key 3 if that is a restart or resume key (else it
 * just waits for the next message). A keeper that invoked whatever it was
 * sent could be made to CALL a busy start key, or RETURN to its own, and
 * stall for ever, and every domain it keeps with it.
 *
 * Expected console output: none. It never exits.
 */
#include "hostile.h"

static uint64_t words[KF_TRAP_MSG_WORDS];

#define KEYBITS KF_KR_ARG0

static long type_of(unsigned kr)
{
	uint64_t w[KF_KEYBITS_WORDS] = { 0 };
	if (kf_keybits(KEYBITS, kr, w) != KF_RC_OK)
		return -1;
	return (long)w[KF_KEYBITS_TYPE];
}

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
		    type_of(KF_KR_RECV0) == KF_KT_DOMAIN &&
		    kf_domain_get_regs(KF_KR_RECV0, regs, &n) == KF_RC_OK &&
		    n == KF_REGS_WORDS && regs[31] != 0 && regs[KF_REGS_PC] != regs[31]) {
			regs[KF_REGS_PC] = regs[31];
			regs[10] = words[KF_TRAP_MSG_CODE];
			regs[11] = words[KF_TRAP_MSG_DETAIL];
			regs[12] = words[KF_TRAP_MSG_ADDR];
			regs[13] = words[KF_TRAP_MSG_ACCESS];
			if (kf_domain_set_regs(KF_KR_RECV0, regs, KF_REGS_WORDS) == KF_RC_OK)
				order = 0;
		}
		kf_send s = { .order = order };
		long kt = type_of(KF_RECV_RESUME);
		if (kt == KF_KT_RESTART || kt == KF_KT_RESUME)
			kf_reply(&s, &r);
		else
			kf_wait(&r);
	}
}
