/* errno: one plain global, since the runtime is single-threaded. */
#include <errno.h>

int errno;
