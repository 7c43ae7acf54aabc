/*
 * hello: prints a greeting and its arguments, then exits 0.
 *
 * Keys: key register 1 (console), 5 (exit). Argv: any.
 * Address space: the standard one; it uses no heap.
 *
 * Expected console output, for argv = {"hello", "one", "two"}:
 *
 *	hello from keyfish
 *	argc=3
 *	argv[0]=hello
 *	argv[1]=one
 *	argv[2]=two
 *
 * that is, the greeting, argc, and one "argv[i]=..." line per argument.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("hello from keyfish\n");
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	return 0;
}
