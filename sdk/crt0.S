/*
 * crt0.S: entry of a Keyfish rv64 program.
 *
 * The loader starts the program at _start with
 *   sp = 16-byte aligned, just below 0x8000_0000, the argument block above
 *   a0 = argc, a1 = argv (the strings are on the stack above sp)
 *   every other register zero, bss already zeroed.
 * _start sets gp (for linker relaxation) and tp (the thread pointer: the
 * TLS block the linker script reserves at __tls_base, which holds errno),
 * runs the constructors, calls main(argc, argv) and passes its result to
 * exit, which returns the status to key register 5 (see runtime/exit.c).
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
	mv	s0, a0
	mv	s1, a1
	call	__libc_init_array
	mv	a0, s0
	mv	a1, s1
	call	main
	tail	exit
	.size	_start, . - _start
