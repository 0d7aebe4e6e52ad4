/* Cleanup attributes for locals (crun's cleanup_free style) and explicit hand-over of ownership. */
#ifndef UK_CLEANUP_H
#define UK_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void uk_freep(void *p)
{
	free(*(void **)p);
}
static inline void uk_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void uk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(uk_freep)))
#define _cleanup_close_ __attribute__((cleanup(uk_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(uk_fclosep)))

/* Hands ownership over: returns the value and resets the variable. */
#define steal_ptr(p)                    \
	({                              \
		__typeof__(p) _t = (p); \
		(p) = NULL;             \
		_t;                     \
	})
#define steal_fd(fd)           \
	({                     \
		int _t = (fd); \
		(fd) = -1;     \
		_t;            \
	})

#endif
