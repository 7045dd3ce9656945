/* SPDX-License-Identifier: GPL-2.0 */
/* The bytes of model files (agents: model_file.c; teams: team_file.c): read whole, written
 * whole and atomically. */
#ifndef MARLLB_LEARN_MODEL_IO_H
#define MARLLB_LEARN_MODEL_IO_H

#include <stddef.h>
#include <stdint.h>

/* Largest model file read. */
#define MODEL_MAX_BYTES (1ULL << 32)

/*
 * Writes len bytes to path.tmp<pid>, fsyncs and renames it over path, so that a crash never
 * leaves half a file. Returns 0 or a negative errno (the temporary file is removed).
 */
int model_write_atomic(const char *path, const void *buf, size_t len);

/*
 * The whole of a regular file of at most MODEL_MAX_BYTES (caller frees), its length in
 * *len; NULL with a sentence naming the file in err.
 */
uint8_t *model_read_all(const char *path, size_t *len, char *err, size_t err_len);

#endif /* MARLLB_LEARN_MODEL_IO_H */
