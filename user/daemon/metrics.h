/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus endpoint: a listening socket on 127.0.0.1 that answers GET /metrics with
 * the text exposition format. The caller polls the socket and calls metrics_serve() when it
 * is readable; render() writes the body.
 */
#ifndef MARLLBD_METRICS_H
#define MARLLBD_METRICS_H

#include <stdint.h>
#include <stdio.h>

/* Returns the listening fd (non-blocking) or a negative errno. */
int metrics_listen(uint16_t port);

typedef void (*metrics_render_fn)(FILE *out, void *ctx);

/* Accepts one client and answers it (bounded by a short socket timeout). */
void metrics_serve(int listen_fd, metrics_render_fn render, void *ctx);

/* Helpers for the exposition format. */
void metrics_family(FILE *out, const char *name, const char *type, const char *help);

#endif /* MARLLBD_METRICS_H */
