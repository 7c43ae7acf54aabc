/*
 * spin: never yields. One instruction, a jump to itself, forever: no ecall,
 * no memory access, nothing for the kernel to notice but the instructions
 * it counts.
 *
 * Keys: none. Argv: ignored. It never exits and prints nothing.
 *
 * Expected: the timer preempts it at the end of every slice, so the other
 * domains of its cluster run; its meter pays for every instruction and,
 * when it runs out, the meter's keeper is called (or, with none, the domain
 * stops with KF_TRAP_METER).
 */
int main(void)
{
	for (;;)
		__asm__ __volatile__("1: j 1b");
}
