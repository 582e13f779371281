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
    struct dlv_entry *next;
} dlv_entry;

struct dlv_service {
    char *dir;
    lake *lake;
    stm_log *log;
    pthread_mutex_t mu;         /* guards the list, refs and started */
    dlv_entry *head;
    bool started;
};

/* Looks a stream up and takes a reference (NULL if absent); give it back with release. */
dlv_entry *dlv_service_find(dlv_service *s, const char *name);
void dlv_service_release(dlv_service *s, dlv_entry *en);
/* Adds a new stream (takes def, also on failure): persisted, started if the service runs.
 * 400 ResourceInUseException when the name exists. */
bool dlv_service_add(dlv_service *s, dlv_def *def, sp_err *e);
/* Removes a stream (stops its worker after a flush, deletes its files). */
bool dlv_service_remove(dlv_service *s, const char *name, sp_err *e);
/* Names in creation order. New ref. */
json_t *dlv_service_names(dlv_service *s);

#endif
