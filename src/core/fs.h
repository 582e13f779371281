/* fs: the two file operations every stage's durable state relies on: creating a directory
 * path, and replacing a file atomically (temporary file in the same directory, fsync, rename,
 * fsync of the directory), so that after a crash at any moment the file holds either its old
 * or its new content, never a mix. */
#ifndef SP_FS_H
#define SP_FS_H

#include "core.h"

/* mkdir -p. Failures are 500 InternalFailure, or 503 ServiceUnavailable when the disk is full,
 * naming the directory. */
bool sp_fs_mkdirs(const char *path, sp_err *e);
/* Replaces path with data atomically and durably. The temporary file is "<dir>/.tmp-<name>"
 * (readers that list directories skip ".tmp-" names; one left by a crash is simply reused),
 * so writers of one path must take turns. Errors as sp_fs_mkdirs, naming the file. */
bool sp_fs_write_atomic(const char *path, const void *data, size_t len, sp_err *e);
/* The same with a JSON document serialised compactly. */
bool sp_fs_write_json_atomic(const char *path, const json_t *doc, sp_err *e);
/* A number kept in a file of its own as decimal text, replaced with sp_fs_write_atomic (so it
 * is on disk when the call returns). Reading: true with *v = 0 when the file does not exist,
 * true with the number, or false with e set when the file cannot be read or does not hold a
 * number (a caller that relies on the number must not guess). */
bool sp_fs_read_u64(const char *path, uint64_t *v, sp_err *e);
bool sp_fs_write_u64(const char *path, uint64_t v, sp_err *e);
/* Sets e from errno for an operation on path (ENOSPC/EDQUOT -> 503). */
void sp_fs_error(sp_err *e, const char *what, const char *path);

#endif
