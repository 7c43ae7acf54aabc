/*
 * garbagekeeper: a keeper that answers with garbage.
 *
 * Keys: key register 1 (console), 2 (its bank), 3 (its meter), 4 (itself);
 * it is started like pong and its start key is put in the keeper slot of
 * a victim: a domain keeper gets a domain key as key 0, a segment keeper a
 * node key to the red segment node. Argv: argv[1] = seed (default 1),
 * argv[2] = how many traps it plays with before it declines every one
 * (default 200).
 *
 * For each trap message (restart key in 15, key 0 in 12) it does one of,
 * at random:
 *   - RETURN a random nonzero order through the restart key (declining);
 *   - write random registers (a random pc; or a string of random length)
 *     through a domain key, then RETURN 0 (restart the victim there);
 *   - put random keys it holds (its bank, meter, domain key, console,
 *     the restart key itself, data keys) in random slots of a red segment
 *     node, including its format slot, then RETURN 0 (retry);
 *   - invoke key 0 with random order codes and words;
 *   - CALL or FORK the restart key with random orders, strings and keys,
 *     then RETURN through it as well (the second use finds it void);
 *   - RETURN 0 with a random string and keys (the restart ignores them).
 * After the given number of traps it declines every one (order 1).
 *
 * Expected: whatever it does, the victim never runs except where its
 * keeper restarts it; it ends stopped (declined, stopped, or by its meter)
 * or waiting; the kernel answers every garbage invocation with a return
 * code. It prints nothing.
 */
#include "hostile.h"

static uint64_t words[KF_LIMIT_STRING / 8];

int main(int argc, char **argv)
{
	uint64_t s = hz_seed(argc, argv, 1, 1);
	unsigned long limit = hz_arg(argc, argv, 2, 200), n = 0;
	kf_recv r = { .buf = words, .cap = sizeof words, .keys = KF_RECV_KEY_REGS };
	kf_wait(&r);
	for (;;) {
		long order = 1;
		if (n++ < limit) {
			uint64_t x = hz_rand(&s);
			for (unsigned i = 0; i < 40; i++)
				words[i] = hz_rand(&s) % 4 ? hz_rand(&s) % 64 : hz_rand(&s);
			long kt = kf_key_type(KF_KR_RECV0);
			switch (x % 7) {
			case 0:
				order = (long)(hz_rand(&s) | 1);
				break;
			case 1:
				if (kt == KF_KT_DOMAIN) {
					uint64_t regs[KF_REGS_WORDS];
					kf_domain_get_regs(KF_KR_RECV0, regs, NULL);
					regs[KF_REGS_PC] = x % 3 == 0 ? words[0] : KF_IMAGE_BASE + (hz_rand(&s) % 8192) * 2;
					regs[1 + hz_rand(&s) % 31] = words[1];
					kf_domain_set_regs(KF_KR_RECV0, regs,
							   hz_rand(&s) % 4 ? KF_REGS_WORDS : hz_rand(&s) % 40);
				}
				order = 0;
				break;
			case 2:
				if (kt == KF_KT_NODE) {
					for (int i = 0; i < 4; i++) {
						unsigned src = (unsigned)(hz_rand(&s) % 16);
						if (hz_rand(&s) % 3 == 0)
							kf_node_write_data(KF_KR_RECV0, hz_rand(&s) % 16, words[i]);
						else
							kf_node_swap(KF_KR_RECV0, hz_rand(&s) % 16, src, 0);
					}
				}
				order = 0;
				break;
			case 3:
				for (int i = 0; i < 8; i++)
					kf_call_raw(KF_KR_RECV0, (long)(hz_rand(&s) % 16), words,
						    hz_rand(&s) % 64, hz_rand(&s) & 0xffff, NULL, 0, 0);
				order = (long)(hz_rand(&s) % 2);
				break;
			case 4: {
				kf_send m = { .order = (long)(hz_rand(&s) % 3), .str = words,
					      .len = hz_rand(&s) % 200,
					      .keys = { (unsigned char)(hz_rand(&s) % 16), 2, 4, 15 } };
				if (x & 8)
					kf_call(KF_RECV_RESUME, &m, NULL);
				else
					kf_fork(KF_RECV_RESUME, &m);
				order = 0;
				break;
			}
			default:
				order = 0;
				break;
			}
		}
		kf_send m = { .order = order, .str = words, .len = hz_rand(&s) % 100,
			      .keys = { 2, 3, 4, 1 } };
		kf_reply(&m, &r);
	}
}
