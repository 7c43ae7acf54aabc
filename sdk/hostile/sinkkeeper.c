/*
 * sinkkeeper: a keeper that never returns.
 *
 * Keys: none from the launcher; started like pong, its start key put in the
 * keeper slot of a victim (a domain keeper, a segment keeper or a meter
 * keeper). Argv: argv[1] = "hold" to keep every restart key it is given in
 * a key register (14, then moved along 9..14), otherwise it discards them.
 *
 * It receives each trap message and never answers it: it waits for the
 * next message at once (a RETURN to DK(0)).
 *
 * Expected: the victim waits for ever (KF_STATE_WAITING, its trap recorded),
 * using no CPU, and the machine comes to rest; with "hold", destroying the
 * keeper's bank declines the trap (the keeper is gone: RCCalleeDestroyed
 * through the restart key), which stops the victim with its trap. It prints
 * nothing.
 */
#include <string.h>

#include "hostile.h"

int main(int argc, char **argv)
{
	int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
	kf_recv r = { .keys = { 0, 0, 0, 0 } };
	if (hold)
		r.keys[3] = 14;
	unsigned kept = 0;
	for (;;) {
		kf_wait(&r);
		if (hold && kept < 5) {
			/* keep it: move register 14 to 9 + kept */
			kf_domain_get_key_reg(KF_KR_SELF, 14, 9 + kept);
			kept++;
		}
	}
}
