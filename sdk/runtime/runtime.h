/*
 * runtime.h: what the backend-independent runtime (stdio.c) needs from a
 * backend: the Keyfish one (console.c, exit.c, sbrk.c) or the Linux-ABI
 * one (linux/sys.c).
 */
#ifndef KEYFISH_RUNTIME_H
#define KEYFISH_RUNTIME_H

/* _kf_console_out writes n bytes to the console; 0 on success, -1 if the
 * console refused. */
int _kf_console_out(const char *p, unsigned long n);

#endif /* KEYFISH_RUNTIME_H */
