/*
 * ping: CALLs pong N times and checks every reply; the rv64 CALL+RETURN
 * round-trip benchmark.
 *
 * Keys: key register 8 (KF_KR_ARG0) holds a start key to pong; 1 (console),
 * 5 (exit). Argv: argv[1] = N, the number of round trips (decimal, default
 * 1000).
 *
 * Round trip i (0 <= i < N) sends order code i and the 8-byte string holding
 * i as a little-endian word, and expects the return code i + 1 and the same
 * 8 bytes back. The loop is one ecall plus a few compares: no output, no
 * memory but the two words on the stack.
 *
 * Expected console output (exit 0), for N = 1000:
 *
 *	ping: 1000 round trips ok
 *
 * On a wrong reply it prints
 *	ping: round trip I: got order R, length L, word W
 * and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include <keyfish.h>

#define PONG KF_KR_ARG0

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;

	for (unsigned long i = 0; i < n; i++) {
		uint64_t out = i, in = ~i;
		kf_result r = kf_invoke(KF_DESC(PONG, KF_INV_CALL), (long)i,
					&out, sizeof out, 0, &in, sizeof in, 0);
		if (r.rc != (long)i + 1 || r.len != sizeof in || in != i) {
			printf("ping: round trip %lu: got order %ld, length %lu, word %lu\n",
			       i, r.rc, r.len, (unsigned long)in);
			return 1;
		}
	}
	printf("ping: %lu round trips ok\n", n);
	return 0;
}
