/*
 * stalepong: a pong that abuses resume keys.
 *
 * Keys: key register 4 (itself, a domain key; it copies key registers with
 * it); 9 and 10 are scratch. Argv: ignored. It is started like pong and
 * answers ping (sdk/examples/ping.c), which checks every reply.
 *
 * For each message, with the caller's resume key in register 15, it:
 *   1. copies that resume key into register 9;
 *   2. FORKs a wrong answer (order 999999) to register 10, a copy of the
 *      previous caller's resume key that was already used;
 *   3. CALLs register 10: a stale resume key behaves as DK(0), so the CALL
 *      is answered at once with 0;
 *   4. FORKs the right answer (order + 1, the same string) through the copy
 *      in register 9: using any copy of a resume key voids all copies;
 *   5. RETURNs a wrong answer (order + 1000) through register 15, the
 *      original, now void, and waits for the next message;
 *   (register 9, now void too, becomes register 10 for the next round).
 * If anything but the documented results comes back it executes ebreak
 * (a trap to its domain keeper; with none, it stops, which the test sees).
 *
 * Expected: ping gets exactly one, right, answer to each CALL, so it prints
 * "ping: N round trips ok"; stalepong ends available. It prints nothing.
 */
#include "hostile.h"

static char buf[KF_LIMIT_STRING];

int main(void)
{
	kf_recv r = { .buf = buf, .cap = sizeof buf, .keys = { 0, 0, 0, KF_RECV_RESUME } };
	kf_wait(&r);
	for (;;) {
		if (kf_domain_get_key_reg(KF_KR_SELF, KF_RECV_RESUME, 9) != KF_RC_OK)
			__builtin_trap();
		kf_send junk = { .order = 999999, .str = buf, .len = 8 };
		if (kf_fork(10, &junk) != KF_RC_OK)
			__builtin_trap();
		if (kf_call(10, &junk, NULL) != 0)
			__builtin_trap();
		kf_send s = { .order = r.order + 1, .str = buf, .len = kf_recv_len(&r) };
		if (kf_fork(9, &s) != KF_RC_OK)
			__builtin_trap();
		if (kf_domain_get_key_reg(KF_KR_SELF, 9, 10) != KF_RC_OK)
			__builtin_trap();
		kf_send wrong = { .order = r.order + 1000, .str = buf, .len = 8 };
		kf_return(KF_RECV_RESUME, &wrong, &r);
	}
}
