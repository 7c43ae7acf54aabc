/*
 * sbrk.c: the program break of a Keyfish program, for picolibc's malloc.
 *
 * The heap is the demand-zero range KF_HEAP_BASE..KF_HEAP_LIMIT
 * (0x1000_0000..0x2000_0000). sbrk only moves the break: the first touch
 * of each page faults to the native zero keeper, which maps a zero page
 * bought from the program's bank. Past either end of the range sbrk sets
 * errno to ENOMEM and returns (void *)-1.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <keyfish.h>

static uintptr_t brk_now = KF_HEAP_BASE;

void *sbrk(ptrdiff_t incr)
{
	uintptr_t old = brk_now;
	if (incr >= 0 ? (uintptr_t)incr > KF_HEAP_LIMIT - old
		      : (uintptr_t)0 - (uintptr_t)incr > old - KF_HEAP_BASE) {
		errno = ENOMEM;
		return (void *)-1;
	}
	brk_now = old + (uintptr_t)incr;
	return (void *)old;
}
