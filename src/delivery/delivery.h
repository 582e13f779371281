/* delivery: the Kinesis Data Firehose role. A delivery stream reads a source (a Kinesis stream
 * of salespipe, or its own Direct PUT buffer), buffers records by size and age, runs them through
 * processors (dynamodb-cdc, jq, lambda, metadata extraction for dynamic partitioning), compresses
 * and writes objects into the lake under Firehose's key layout, exactly once.
 *
 * The service owns every delivery stream: those of the configuration and those created through
 * the Firehose API (persisted under <dir>/ so they survive a restart). Each one has a worker
 * thread; closing the service stops the workers after flushing what they hold.
 *
 * Thread safety: the Firehose ops may be called from any number of threads at once.
 */
#ifndef DLV_DELIVERY_H
#define DLV_DELIVERY_H

#include "core/config.h"
#include "core/core.h"
#include "lake/lake.h"
#include "stream/stream.h"

typedef struct dlv_service dlv_service;

/* Opens the service on dir (created if missing; <data>/delivery), creating the configured
 * delivery streams and reloading those created through the API. cfg, lk and log are borrowed
 * and must outlive the service; log may be NULL (then delivery streams with a Kinesis source
 * wait for none and stay idle). Workers are not started yet. Caller closes the result. */
dlv_service *dlv_service_open(const char *dir, const sp_config *cfg, lake *lk, stm_log *log,
                              sp_err *e);
/* Where record format conversion finds its output schema: the columns of the Glue table
 * SchemaConfiguration names, as a new JSON array [[name, glue type], ...], or NULL with e set
 * (EntityNotFoundException when the table is missing). The catalog sits downstream of
 * delivery, so the engine supplies this. Called from the workers' threads. */
typedef json_t *(*dlv_schema_fn)(void *ctx, const char *database, const char *table,
                                 sp_err *e);
typedef struct dlv_schema_source {
    dlv_schema_fn fn;
    void *ctx;
} dlv_schema_source;
/* Sets it (before dlv_service_start); fn NULL: conversion fails every record. */
void dlv_service_set_schema_source(dlv_service *svc, dlv_schema_fn fn, void *ctx);

/* Starts one worker per delivery stream (an open intent left by a crash is redone first). */
bool dlv_service_start(dlv_service *svc, sp_err *e);
/* Stops every worker (each flushes its buffer to the lake) and frees the service. */
void dlv_service_close(dlv_service *svc);
/* Per delivery stream counters: {"running":true,"streams":{name:{records_in,...}}}. New ref. */
json_t *dlv_service_health(dlv_service *svc);

/* Totals over every delivery stream, for progress displays (demo). idle: no stream holds
 * buffered records or an open intent, and every running stream's checkpoints are at its
 * source's current end (so everything in the sources is in the lake). */
typedef struct dlv_progress {
    uint64_t delivered;          /* source records put into objects (incl. dropped/failed) */
    uint64_t objects;            /* data objects written */
    uint64_t failed;             /* records sent to an error output */
    bool idle;
} dlv_progress;
void dlv_service_progress(dlv_service *svc, dlv_progress *out);

/* The configuration check of one delivery_streams[] entry (an sp_cfg_check_fn over
 * sp_cfg_delivery): a remote source (kinesis or kafka, conn_remote_config_check) and Firehose's prefix rules (see
 * dlv_prefixes_validate in dlv_int.h); *key is "source", "prefix" or "error_output_prefix". */
bool dlv_config_check(const void *delivery_cfg, const char **key, sp_err *e);

/* Firehose_20150804.* operations; ctx is the dlv_service. */
extern const sp_op dlv_firehose_ops[];

#endif
