/* bench: a CPU-bound program for the rv64 interpreter benchmark and the
 * differential test against qemu-riscv64. It runs a sieve, CRC-32, an
 * integer matrix multiply, sorts (picolibc's qsort and a heapsort) and a
 * 64-bit hash mix, then prints checksums. argv[1] is the scale (default
 * 20); the exit status is the low byte of the combined checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys.h"

#define SIEVE_N 200000
#define CRC_N 65536
#define MAT_N 48
#define SORT_N 20000

static uint8_t sieve[SIEVE_N];
static uint8_t crcbuf[CRC_N];
static uint32_t crctab[256];
static int32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];
static int32_t arr[SORT_N];
static uint64_t arr2[SORT_N];

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void print(const char *s)
{
	sys_write(1, s, strlen(s));
}

static uint32_t do_sieve(void)
{
	uint32_t count = 0;
	memset(sieve, 1, sizeof sieve);
	sieve[0] = sieve[1] = 0;
	for (uint32_t i = 2; i * i < SIEVE_N; i++)
		if (sieve[i])
			for (uint32_t j = i * i; j < SIEVE_N; j += i)
				sieve[j] = 0;
	for (uint32_t i = 0; i < SIEVE_N; i++)
		count += sieve[i];
	return count;
}

static uint32_t do_crc(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crctab[i] = c;
	}
	for (uint32_t i = 0; i < CRC_N; i++)
		crcbuf[i] = (uint8_t)next();
	uint32_t crc = 0xffffffffu;
	for (uint32_t i = 0; i < CRC_N; i++)
		crc = crctab[(crc ^ crcbuf[i]) & 0xff] ^ (crc >> 8);
	/* and a bitwise pass over part of the buffer */
	uint32_t crc2 = 0xffffffffu;
	for (uint32_t i = 0; i < CRC_N / 8; i++) {
		crc2 ^= crcbuf[i];
		for (int k = 0; k < 8; k++)
			crc2 = (crc2 >> 1) ^ (0xedb88320u & -(crc2 & 1));
	}
	return ~crc ^ ~crc2;
}

static uint32_t do_matmul(void)
{
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++) {
			ma[i][j] = (int32_t)(next() % 2001) - 1000;
			mb[i][j] = (int32_t)(next() % 2001) - 1000;
		}
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++) {
			int32_t s = 0;
			for (int k = 0; k < MAT_N; k++)
				s += ma[i][k] * mb[k][j];
			mc[i][j] = s;
		}
	uint32_t h = 0;
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++)
			h = h * 31 + (uint32_t)mc[i][j];
	return h;
}

static int cmp32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static void sift(uint64_t *a, size_t start, size_t end)
{
	size_t root = start;
	while (2 * root + 1 <= end) {
		size_t child = 2 * root + 1, sw = root;
		if (a[sw] < a[child])
			sw = child;
		if (child + 1 <= end && a[sw] < a[child + 1])
			sw = child + 1;
		if (sw == root)
			return;
		uint64_t t = a[root];
		a[root] = a[sw];
		a[sw] = t;
		root = sw;
	}
}

static uint64_t do_sort(void)
{
	for (int i = 0; i < SORT_N; i++) {
		arr[i] = (int32_t)next();
		arr2[i] = next() / 3;
	}
	qsort(arr, SORT_N, sizeof arr[0], cmp32);
	for (size_t s = SORT_N / 2; s-- > 0;)
		sift(arr2, s, SORT_N - 1);
	for (size_t e = SORT_N - 1; e > 0; e--) {
		uint64_t t = arr2[0];
		arr2[0] = arr2[e];
		arr2[e] = t;
		sift(arr2, 0, e - 1);
	}
	uint64_t h = 0;
	for (int i = 0; i < SORT_N; i++) {
		if (i > 0 && (arr[i - 1] > arr[i] || arr2[i - 1] > arr2[i]))
			return 0;
		h = h * 1000003 + (uint32_t)arr[i] + arr2[i];
	}
	return h;
}

static uint64_t do_mix(uint64_t seed)
{
	uint64_t h = seed;
	for (int i = 0; i < 100000; i++) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
		h += (uint64_t)i * 0x9e3779b97f4a7c15ull;
		h = (h << 7 | h >> 57) / ((h & 0xff) | 1) + h % 1000003;
	}
	return h;
}

int main(int argc, char **argv)
{
	int scale = 20;
	if (argc > 1)
		scale = atoi(argv[1]);
	uint64_t total = 0;
	char buf[160];
	for (int r = 0; r < scale; r++) {
		uint32_t primes = do_sieve();
		uint32_t crc = do_crc();
		uint32_t mat = do_matmul();
		uint64_t srt = do_sort();
		uint64_t mix = do_mix(total + r);
		total = total * 7 + primes + crc + mat + srt + mix;
		if (r == 0 || r == scale - 1) {
			snprintf(buf, sizeof buf, "round %d: primes=%lu crc=%08lx mat=%08lx sort=%016llx mix=%016llx\n",
				 r, (unsigned long)primes, (unsigned long)crc, (unsigned long)mat,
				 (unsigned long long)srt, (unsigned long long)mix);
			print(buf);
		}
	}
	snprintf(buf, sizeof buf, "total=%016llx\n", (unsigned long long)total);
	print(buf);
	return (int)(total & 0xff);
}
