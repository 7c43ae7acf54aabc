/*
 * signal.c: the process-control calls picolibc's raise (and so abort and
 * assert) needs, the same on Keyfish and in the Linux-ABI builds so both
 * end the same way.
 *
 * A program is one process, number 1. A signal sent to it that nobody
 * handles ends it as a shell would report it: exit status 128 + signal
 * (abort: 134). Signal 0 only checks that the process exists.
 */
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#define KF_PID 1

pid_t getpid(void)
{
	return KF_PID;
}

int kill(pid_t pid, int sig)
{
	if (pid != KF_PID && pid != 0 && pid != -1) {
		errno = ESRCH;
		return -1;
	}
	if (sig < 0 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (sig != 0)
		_exit(128 + sig);
	return 0;
}
