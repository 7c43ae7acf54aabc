/*
 * stdio.c: stdin, stdout and stderr of picolibc's tinystdio.
 *
 * stdout and stderr are the console. They share one buffer, so their output
 * keeps its order; the buffer goes to the console at each newline, when it
 * is full, at fflush, and at exit (a destructor, which exit runs before
 * _exit). stdin is always at end of file: the console only writes.
 */
#include <stdio.h>

#include "runtime.h"

static char buf[1024];
static unsigned long used;

static int console_flush(FILE *f)
{
	(void)f;
	if (used == 0)
		return 0;
	int rc = _kf_console_out(buf, used);
	used = 0;
	return rc == 0 ? 0 : EOF;
}

static int console_put(char c, FILE *f)
{
	buf[used++] = c;
	if ((c == '\n' || used == sizeof buf) && console_flush(f) != 0)
		return _FDEV_ERR;
	return (unsigned char)c;
}

static int console_get(FILE *f)
{
	(void)f;
	return _FDEV_EOF;
}

static FILE kf_stdout =
	FDEV_SETUP_STREAM(console_put, NULL, console_flush, _FDEV_SETUP_WRITE);
static FILE kf_stderr =
	FDEV_SETUP_STREAM(console_put, NULL, console_flush, _FDEV_SETUP_WRITE);
static FILE kf_stdin =
	FDEV_SETUP_STREAM(NULL, console_get, NULL, _FDEV_SETUP_READ);

FILE *const stdin = &kf_stdin;
FILE *const stdout = &kf_stdout;
FILE *const stderr = &kf_stderr;

static void __attribute__((destructor)) flush_at_exit(void)
{
	console_flush(stdout);
}
