/*
 * pong: the echo server ping talks to.
 *
 * pong waits for messages (kf_wait). It answers each through the key that
 * came as the fourth key of the message, which it receives in key register
 * 15 (KF_RECV_RESUME): the resume key of a CALL. The answer has the order
 * code plus one as its return code and the same string (up to
 * KF_LIMIT_STRING bytes), and no keys. A message sent without a resume key
 * (a FORK or RETURN to pong's start key) brings DK(0) there, and answering
 * DK(0) just waits for the next message. pong never exits.
 *
 * Keys: none from the launcher; pong is started so that it becomes
 * available (it runs main, which waits at once) and is reached through a
 * start key to its domain, which the launcher gives to ping.
 *
 * Expected console output: none.
 */
#include <keyfish.h>

static char buf[KF_LIMIT_STRING];

int main(void)
{
	kf_recv r = {
		.buf = buf,
		.cap = sizeof buf,
		.keys = { 0, 0, 0, KF_RECV_RESUME },
	};
	kf_wait(&r);
	for (;;) {
		kf_send s = {
			.order = r.order + 1,
			.str = buf,
			.len = kf_recv_len(&r),
		};
		kf_reply(&s, &r);
	}
}
