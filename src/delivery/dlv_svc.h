/* The delivery service's registry, shared by service.c and the Firehose API (firehose.c). */
#ifndef DLV_SVC_H
#define DLV_SVC_H

#include "dlv_int.h"

typedef struct dlv_entry {
    dlv_def *def;
    char *dir;                  /* <service dir>/<name> */
    dlv_direct *direct;         /* Direct PUT log, NULL for a Kinesis source */
    dlv_runner *runner;         /* NULL while the source is unavailable */
    int refs;                   /* guarded by the service's mu */
    /* Definitions replaced by UpdateDestination: a call that read en->def before the swap may
     * still use it, so they live as long as the entry. */
    dlv_def **retired;
    size_t n_retired;
    struct dlv_entry *next;
} dlv_entry;

struct dlv_service {
    char *dir;
    lake *lake;
    stm_log *log;
    pthread_mutex_t mu;         /* guards the list, refs, started and each entry's runner */
    pthread_mutex_t update_mu;  /* one UpdateDestination at a time */
    dlv_entry *head;
    bool started;
    dlv_schema_source schema;   /* record format conversion's schema lookup */
};

/* Looks a stream up and takes a reference (NULL if absent); give it back with release. */
dlv_entry *dlv_service_find(dlv_service *s, const char *name);
void dlv_service_release(dlv_service *s, dlv_entry *en);
/* Adds a new stream (takes def, also on failure): persisted, started if the service runs.
 * 400 ResourceInUseException when the name exists. */
bool dlv_service_add(dlv_service *s, dlv_def *def, sp_err *e);
/* Removes a stream (stops its worker after a flush, deletes its files). */
bool dlv_service_remove(dlv_service *s, const char *name, sp_err *e);
/* UpdateDestination: replaces the definition of the stream en (a reference the caller holds)
 * with def (taken, also on failure): persisted first, then the worker is stopped (it
 * flushes what it holds under the old definition) and a new one started on the same source
 * and checkpoints. Streams of the configuration file are refused (their definition is the
 * file's). */
bool dlv_service_update(dlv_service *s, dlv_entry *en, dlv_def *def, sp_err *e);
/* Names in creation order. New ref. */
json_t *dlv_service_names(dlv_service *s);

#endif
