/* pico: exercises picolibc's stdio (printf through a stream whose put
 * function makes the Linux write system call), malloc (sbrk on top of the
 * brk system call), string functions and qsort; exits with status 3. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys.h"

static char outbuf[256];
static size_t outlen;

static void flush(void)
{
	if (outlen > 0)
		sys_write(1, outbuf, outlen);
	outlen = 0;
}

static int put(char c, FILE *f)
{
	(void)f;
	outbuf[outlen++] = c;
	if (c == '\n' || outlen == sizeof outbuf)
		flush();
	return (unsigned char)c;
}

static FILE out = FDEV_SETUP_STREAM(put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &out;
FILE *const stderr = &out;

static char *cur_brk;

void *sbrk(ptrdiff_t incr)
{
	if (cur_brk == NULL)
		cur_brk = (char *)sys_brk(0);
	char *old = cur_brk;
	char *want = old + incr;
	if ((char *)sys_brk(want) != want)
		return (void *)-1;
	cur_brk = want;
	return old;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	static const char *words[] = {"keyfish", "capability", "domain", "keeper",
				      "segment", "page", "node", "start", "resume",
				      "meter", "number", "sense"};
	enum { NW = sizeof words / sizeof words[0] };
	char *copies[NW];
	size_t total = 0;
	for (int i = 0; i < NW; i++) {
		size_t n = strlen(words[i]);
		copies[i] = malloc(n * 100 + 1);
		if (copies[i] == NULL) {
			printf("malloc failed\n");
			flush();
			return 1;
		}
		for (int k = 0; k < 100; k++)
			memcpy(copies[i] + k * n, words[i], n);
		copies[i][n * 100] = 0;
		total += strlen(copies[i]);
	}
	qsort(copies, NW, sizeof copies[0], cmpstr);
	for (int i = 0; i < NW; i++)
		printf("%2d %.12s... %zu\n", i, copies[i], strlen(copies[i]));
	printf("argc=%d argv0=%s total=%zu hex=%#x neg=%d str=%-6s|\n", argc, argv[0],
	       total, 0xbeef, -42, "ab");
	for (int i = 0; i < NW; i++)
		free(copies[i]);
	flush();
	return 3;
}
