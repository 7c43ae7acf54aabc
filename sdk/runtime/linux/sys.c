/*
 * sys.c: the Linux-ABI backend of the runtime, for running the
 * console-only examples under qemu-riscv64 (or any rv64 Linux) and
 * comparing their output with the Keyfish simulator's.
 *
 * The console is write(1, ...) (syscall 64), _exit is exit (syscall 93),
 * and the heap is a static array.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "../runtime.h"

#define SYS_WRITE 64
#define SYS_EXIT 93

static long syscall3(long n, long x, long y, long z)
{
	register long a0 __asm__("a0") = x;
	register long a1 __asm__("a1") = y;
	register long a2 __asm__("a2") = z;
	register long a7 __asm__("a7") = n;
	__asm__ __volatile__("ecall"
			     : "+r"(a0)
			     : "r"(a1), "r"(a2), "r"(a7)
			     : "memory");
	return a0;
}

int _kf_console_out(const char *p, unsigned long n)
{
	while (n > 0) {
		long w = syscall3(SYS_WRITE, 1, (long)p, (long)n);
		if (w == -EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (unsigned long)w;
	}
	return 0;
}

void _exit(int status)
{
	for (;;)
		syscall3(SYS_EXIT, status, 0, 0);
}

/* The heap: 4 MiB of bss, enough for the examples. */
static char heap[4 << 20] __attribute__((aligned(16)));
static char *brk_now = heap;

void *sbrk(ptrdiff_t incr)
{
	uintptr_t base = (uintptr_t)heap, limit = base + sizeof heap;
	uintptr_t old = (uintptr_t)brk_now;
	if (incr >= 0 ? (uintptr_t)incr > limit - old
		      : (uintptr_t)0 - (uintptr_t)incr > old - base) {
		errno = ENOMEM;
		return (void *)-1;
	}
	char *prev = brk_now;
	brk_now += incr;
	return prev;
}
