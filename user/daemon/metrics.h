/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus endpoint: a server on 127.0.0.1 that answers GET /metrics with the text
 * exposition format, and that no client can stall. Every socket is non-blocking and each
 * event does one bounded read or write; a client has METRICS_DEADLINE_S to send its request
 * (at most METRICS_REQUEST_MAX bytes) and take the answer; at most METRICS_MAX_CLIENTS are
 * served at once (more get a 503 at once). The server keeps its own epoll set: the caller
 * polls metrics_server_fd() and calls metrics_server_process() when it is readable, and
 * metrics_server_expire() now and then (each control step).
 */
#ifndef MARLLBD_METRICS_H
#define MARLLBD_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_MAX_CLIENTS 8
#define METRICS_DEADLINE_S 2.0
#define METRICS_REQUEST_MAX 4096

typedef void (*metrics_render_fn)(FILE *out, void *ctx);

struct metrics_server;

/* Listens on 127.0.0.1:port (0: any free port). NULL with errno set on failure. */
struct metrics_server *metrics_server_new(uint16_t port, metrics_render_fn render, void *ctx);
void metrics_server_free(struct metrics_server *srv);
/* The descriptor to poll for input (an epoll set of the listening socket and clients). */
int metrics_server_fd(const struct metrics_server *srv);
/* The port it listens on. */
uint16_t metrics_server_port(const struct metrics_server *srv);
/* Handles what is ready now, without waiting; now: CLOCK_MONOTONIC seconds. */
void metrics_server_process(struct metrics_server *srv, double now);
/* Drops the clients past their deadline. */
void metrics_server_expire(struct metrics_server *srv, double now);

/* Counters: clients served, cut at the deadline, refused for the cap, bad requests. */
struct metrics_server_stats {
	uint64_t served, timed_out, refused, bad;
};
void metrics_server_stats(const struct metrics_server *srv, struct metrics_server_stats *st);

/* Helpers for the exposition format. */
void metrics_family(FILE *out, const char *name, const char *type, const char *help);

#endif /* MARLLBD_METRICS_H */
