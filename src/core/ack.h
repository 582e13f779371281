/* ack: a deferred acknowledgement, so the thread that runs a request need not sleep while the
 * disk makes the request's change durable.
 *
 * The HTTP layer opens a scope around one request (sp_ack_scope_enter); a stage deep below
 * it whose commit becomes durable later (the table's group commit under `durability: fsync`)
 * takes a hold on the scope's ack (sp_ack_hold) instead of waiting, and drops it once the
 * change is on disk (sp_ack_release, with the error if it never got there). The request
 * builds its answer at once but sends it only when every hold is dropped: the ack's ready
 * callback runs in the thread that drops the last hold. A stage with no scope open (a
 * command-line caller, a background thread) waits as before; the scope is a thread-local
 * pointer, so the modules in between need not pass anything along.
 *
 * @locality the scope is per thread; hold and release may come from any thread. */
#ifndef SP_ACK_H
#define SP_ACK_H

#include "core.h"

typedef struct sp_ack sp_ack;
/* Called once, in the thread that dropped the last hold, when the ack is settled. */
typedef void (*sp_ack_ready_fn)(sp_ack *a, void *arg);

struct sp_ack {
    int holds;            /* atomic: the opener's own plus one per change not yet durable */
    bool failed;          /* a held change did not become durable: err says why */
    sp_err err;           /* written by the releaser of the first failure, read after ready */
    sp_ack_ready_fn ready;
    void *arg;
};

/* Opens a's scope on the calling thread with the opener's hold taken; ready(a, arg) runs
 * when the opener and every holder have released. a is borrowed and must live until then. */
void sp_ack_scope_enter(sp_ack *a, sp_ack_ready_fn ready, void *arg);
/* Closes the calling thread's scope (the opener keeps its hold: release it with
 * sp_ack_release once it has decided what to do if others still hold it). */
void sp_ack_scope_leave(void);
/* The calling thread's open ack, or NULL when nothing may be deferred. */
sp_ack *sp_ack_current(void);
/* Takes one more hold on a. */
void sp_ack_hold(sp_ack *a);
/* Drops one hold; err (may be NULL) says the held change failed and is kept if it is the
 * first failure. Runs the ready callback when it was the last hold. True when it was. */
bool sp_ack_release(sp_ack *a, const sp_err *err);
/* True while another hold than the opener's is taken (call before the opener releases). */
bool sp_ack_others_hold(sp_ack *a);

#endif
