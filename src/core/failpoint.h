/* failpoint: named places where a test can have the process die by SIGKILL, so crash tests
 * hit exactly the moments the exactly-once argument is about (after an intent is written,
 * between an object and its checkpoint, in a segment roll) instead of hoping a random kill
 * lands there.
 *
 * SALESPIPE_FAILPOINT="<name>[:<n>]" (read once) kills the process the n-th time (default 1)
 * execution passes sp_failpoint("<name>"). Unset, a failpoint costs one predictable branch. */
#ifndef SP_FAILPOINT_H
#define SP_FAILPOINT_H

#include <stdbool.h>

extern bool sp_failpoints_armed;
void sp_failpoint_hit(const char *name);

static inline void sp_failpoint(const char *name)
{
    if (__builtin_expect(sp_failpoints_armed, 0)) sp_failpoint_hit(name);
}

/* Reads SALESPIPE_FAILPOINT; called once at start by the binary. */
void sp_failpoints_init(void);

#endif
