/*
 * touch: writes one byte to each of N fresh heap pages, then exits 0.
 * The page-fault benchmark runs it: every store faults to the zero
 * keeper, which buys a zero page (and the nodes to map it).
 *
 * argv[1] is N, decimal (default 0). Pages from 0x1000_0000 (the heap,
 * abi.LayoutHeap) up; at most 65536 (the heap's 256 MiB).
 *
 * No libc: the loader starts _start with a0 = argc, a1 = argv; exiting is
 * a RETURN to the exit key in key register 5 (abi.KRExit) with the status
 * as the order code: descriptor 5 | 1 << 8.
 */
	.section .text
	.globl	_start
_start:
	li	t0, 0			/* N */
	li	t1, 2
	blt	a0, t1, 2f		/* no argv[1] */
	ld	t2, 8(a1)		/* argv[1] */
1:	lbu	t3, 0(t2)
	addi	t3, t3, -'0'
	li	t4, 10
	bgeu	t3, t4, 2f		/* not a digit: done */
	mul	t0, t0, t4
	add	t0, t0, t3
	addi	t2, t2, 1
	j	1b
2:	li	t4, 65536
	bleu	t0, t4, 3f
	mv	t0, t4
3:	li	t1, 0x10000000		/* abi.LayoutHeap */
	li	t2, 4096
4:	beqz	t0, 5f
	sb	t2, 0(t1)
	add	t1, t1, t2
	addi	t0, t0, -1
	j	4b
5:	li	a0, 0x105		/* KRExit | InvReturn << 8 */
	li	a1, 0			/* status */
	li	a2, 0
	li	a3, 0
	li	a4, 0
	li	a5, 0
	li	a6, 0
	li	a7, 0
	ecall
	j	5b
