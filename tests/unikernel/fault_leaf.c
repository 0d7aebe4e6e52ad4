/* Faults where the frame pointer chain skips the caller (backtrace.sh names every frame):
 * `leaf` stores through NULL in a leaf that has no frame at -O2, `fnptr` calls a NULL function
 * pointer (no prologue ran); `frame` faults in a leaf with a frame (its locals on the stack),
 * where the chain alone is right and the caller must not be named twice. */
#include <stdio.h>
#include <string.h>

volatile int total;
int *volatile target; /* NULL, read at run time: the compiler cannot see the fault */
void (*volatile hook)(int);

__attribute__((noinline)) void leaf_store(int v)
{
	*target = v;
}

__attribute__((noinline)) int via_leaf(int v)
{
	leaf_store(v);
	return total; /* not a tail call: the return address stays in via_leaf */
}

__attribute__((noinline)) int via_hook(int v)
{
	hook(v);
	return total;
}

__attribute__((noinline)) void framed_store(int v)
{
	volatile int local[4] = {v, v + 1, v + 2, v + 3};

	*target = local[v & 3];
}

__attribute__((noinline)) int via_framed(int v)
{
	framed_store(v);
	return total;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "leaf";

	printf("fault_leaf: %s\n", mode);
	/* "+ 1": calls, not tail calls, so main stays in the backtrace */
	if (!strcmp(mode, "fnptr"))
		return via_hook(1) + 1;
	if (!strcmp(mode, "frame"))
		return via_framed(1) + 1;
	return via_leaf(1) + 1;
}
