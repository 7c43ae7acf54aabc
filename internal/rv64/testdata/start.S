/* Process entry for static RV64 Linux programs built without a C runtime:
 * set gp, call main(argc, argv), exit_group with its result. */
	.file "start.S"
	.section .text._start, "ax"
	.globl _start
_start:
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	ld	a0, 0(sp)
	addi	a1, sp, 8
	call	main
	li	a7, 94
	ecall
1:	j	1b
