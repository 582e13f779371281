/* Failpoints (see failpoint.h). The countdown is atomic so concurrent threads passing the same
 * point kill the process exactly once, at the n-th pass. */
#include "failpoint.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

bool sp_failpoints_armed;
static char fp_name[128];
static atomic_long fp_countdown;

void sp_failpoints_init(void)
{
    const char *spec = getenv("SALESPIPE_FAILPOINT");
    if (!spec || !*spec) return;
    snprintf(fp_name, sizeof fp_name, "%s", spec);
    long n = 1;
    char *colon = strchr(fp_name, ':');
    if (colon) {
        *colon = '\0';
        n = atol(colon + 1);
        if (n < 1) n = 1;
    }
    atomic_store(&fp_countdown, n);
    sp_failpoints_armed = true;
    sp_warn("failpoint armed: SIGKILL at pass %ld of '%s'", n, fp_name);
}

void sp_failpoint_hit(const char *name)
{
    if (strcmp(name, fp_name) != 0) return;
    if (atomic_fetch_sub(&fp_countdown, 1) != 1) return;
    static const char msg[] = "failpoint reached: SIGKILL\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    raise(SIGKILL);
}
