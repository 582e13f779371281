/* ack: the deferred acknowledgement of ack.h, a counter of holds and a thread-local scope. */
#include "ack.h"

#include <pthread.h>

static _Thread_local sp_ack *scope;
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER; /* first failure of any ack */

void sp_ack_scope_enter(sp_ack *a, sp_ack_ready_fn ready, void *arg)
{
    *a = (sp_ack){.holds = 1, .ready = ready, .arg = arg};
    scope = a;
}

void sp_ack_scope_leave(void) { scope = NULL; }

sp_ack *sp_ack_current(void) { return scope; }

void sp_ack_hold(sp_ack *a) { __atomic_add_fetch(&a->holds, 1, __ATOMIC_ACQ_REL); }

bool sp_ack_others_hold(sp_ack *a) { return __atomic_load_n(&a->holds, __ATOMIC_ACQUIRE) > 1; }

bool sp_ack_release(sp_ack *a, const sp_err *err)
{
    if (err && sp_err_failed(err)) {
        /* Failures are rare (a failed COMMIT or sync): one lock for all acks is enough. */
        pthread_mutex_lock(&err_mu);
        if (!a->failed) {
            a->err = *err;
            a->failed = true;
        }
        pthread_mutex_unlock(&err_mu);
    }
    if (__atomic_sub_fetch(&a->holds, 1, __ATOMIC_ACQ_REL) != 0) return false;
    if (a->ready) a->ready(a, a->arg);
    return true;
}
