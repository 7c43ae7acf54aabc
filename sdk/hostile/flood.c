/*
 * flood: FORKs to a server as fast as it can, forever.
 *
 * Keys: key register 8 (KF_KR_ARG0) holds a start key to the server; it
 * sends the keys in registers 1..3 (whatever they are) along. Argv:
 * argv[1] = seed (default 1).
 *
 * Each FORK sends a random order code, a string of random length (0 to
 * KF_LIMIT_STRING bytes) and three keys. A FORK to a server that is busy
 * stalls the flooder in the server's FIFO stall queue until the server is
 * available again, so a flooder holds at most one place in any queue, and
 * the server's other clients (who queued before it) are served in turn. It
 * never exits; its meter stops it.
 *
 * Expected: every FORK returns KF_RC_OK; the flooder is stopped by its meter
 * (KF_TRAP_METER); the server's clients finish. It prints nothing.
 */
#include "hostile.h"

static char buf[KF_LIMIT_STRING];

int main(int argc, char **argv)
{
	uint64_t s = hz_seed(argc, argv, 1, 1);
	for (unsigned long i = 0; i < sizeof buf; i++)
		buf[i] = (char)i;
	for (;;) {
		uint64_t r = hz_rand(&s);
		kf_send m = { .order = (long)(r >> 16), .str = buf,
			      .len = r % (KF_LIMIT_STRING + 1), .keys = { 1, 2, 3, 0 } };
		if (kf_fork(KF_KR_ARG0, &m) != KF_RC_OK)
			__builtin_trap();
	}
}
