/*
 * crt0.S of the Linux-ABI builds (run under qemu-riscv64).
 *
 * Linux starts a static program with sp pointing at argc, followed by the
 * argv pointers; everything else matches the Keyfish crt0 (../../crt0.S):
 * set gp and tp, run the constructors, call main(argc, argv), then exit.
 */
	.section .text.init.enter, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	.option push
	.option norelax
	lla	gp, __global_pointer$
	.option pop
	lla	tp, __tls_base
	ld	s0, 0(sp)
	addi	s1, sp, 8
	andi	sp, sp, -16
	call	__libc_init_array
	mv	a0, s0
	mv	a1, s1
	call	main
	tail	exit
	.size	_start, . - _start
