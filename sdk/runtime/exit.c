/*
 * exit.c: how a Keyfish program ends.
 *
 * picolibc's exit(status) runs the atexit handlers and destructors (which
 * flush stdout) and calls _exit(status). _exit RETURNs to the exit key in
 * key register 5 (KF_KR_EXIT) with the status as the order code, an empty
 * string and no keys. That makes the domain available; should a message
 * ever arrive, it returns the status again.
 */
#include <unistd.h>

#include <keyfish.h>

void _exit(int status)
{
	for (;;)
		kf_invoke(KF_DESC(KF_KR_EXIT, KF_INV_RETURN), (long)status,
			  NULL, 0, 0, NULL, 0, 0);
}
