/*
 * malloc: exercises picolibc's malloc over the demand-zero heap.
 *
 * Keys: key register 1 (console), 5 (exit). Argv: ignored. Memory: the heap
 * range at 0x1000_0000 (sbrk), of which it touches a little over 1 MiB,
 * each new page faulting to the zero keeper.
 *
 * It allocates 256 blocks of 2048..6016 bytes (about 1 MiB), fills every
 * byte with a pattern, checks them all, frees the odd blocks and allocates
 * them again with other sizes, checks everything again, checks that calloc
 * returns zeros, and frees everything.
 *
 * Expected console output (exit 0):
 *
 *	malloc: ok
 *
 * On a failure it prints one line starting "malloc: FAIL" and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 256

static unsigned char *block[BLOCKS];
static unsigned long size[BLOCKS];

static unsigned char byte(unsigned long b, unsigned long i)
{
	return (unsigned char)((b * 131 + i * 7 + (i >> 8)) ^ 0x5a);
}

static int fill(unsigned long b, unsigned long n)
{
	block[b] = malloc(n);
	size[b] = n;
	if (block[b] == NULL) {
		printf("malloc: FAIL allocating block %lu (%lu bytes)\n", b, n);
		return 1;
	}
	for (unsigned long i = 0; i < n; i++)
		block[b][i] = byte(b, i);
	return 0;
}

static int check(unsigned long b)
{
	for (unsigned long i = 0; i < size[b]; i++)
		if (block[b][i] != byte(b, i)) {
			printf("malloc: FAIL block %lu byte %lu\n", b, i);
			return 1;
		}
	return 0;
}

static int check_all(void)
{
	for (unsigned long b = 0; b < BLOCKS; b++)
		if (check(b))
			return 1;
	return 0;
}

int main(void)
{
	unsigned long total = 0;
	for (unsigned long b = 0; b < BLOCKS; b++) {
		unsigned long n = 2048 + (b * 37 % 32) * 128;
		if (fill(b, n))
			return 1;
		total += n;
	}
	if (total < 1000000) {
		printf("malloc: FAIL only %lu bytes\n", total);
		return 1;
	}
	if (check_all())
		return 1;

	for (unsigned long b = 1; b < BLOCKS; b += 2)
		free(block[b]);
	for (unsigned long b = 1; b < BLOCKS; b += 2)
		if (fill(b, 1024 + (b * 53 % 48) * 128))
			return 1;
	if (check_all())
		return 1;

	unsigned char *z = calloc(64, 1024);
	if (z == NULL) {
		printf("malloc: FAIL calloc\n");
		return 1;
	}
	for (unsigned long i = 0; i < 64 * 1024; i++)
		if (z[i] != 0) {
			printf("malloc: FAIL calloc byte %lu\n", i);
			return 1;
		}
	free(z);

	for (unsigned long b = 0; b < BLOCKS; b++)
		free(block[b]);
	printf("malloc: ok\n");
	return 0;
}
