/*
 * console.c: the Keyfish console backend of stdio.c: a CALL to the console
 * key in key register 1 (KF_KR_CONSOLE) per KF_LIMIT_STRING bytes.
 */
#include <keyfish.h>

#include "runtime.h"

int _kf_console_out(const char *p, unsigned long n)
{
	return kf_console_write(KF_KR_CONSOLE, p, n) == KF_RC_OK ? 0 : -1;
}
