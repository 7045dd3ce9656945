/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP connect health checks. A check is a non-blocking connect() to the backend's address and
 * the VIP's port; the caller polls the socket for writability and reports the result. A
 * backend goes down after `fall` consecutive failures and back up after `rise` successes.
 * Backends start up, so that a restarted daemon does not pull traffic from healthy servers.
 */
#ifndef MARLLBD_HEALTH_H
#define MARLLBD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"

struct health_check {
	struct inet_addr addr;
	uint16_t port;
	int fd; /* in-flight connect, -1 when idle */
	double started; /* monotonic seconds */
	unsigned int ok_streak, fail_streak;
	bool up;
	bool failed_to_start; /* connect() failed at once: health_expire() records it */
	uint64_t checks, failures;
};

void health_init(struct health_check *hc, const struct inet_addr *addr, uint16_t port);

/* Starts a check; returns the socket to poll for EPOLLOUT, or -1 when connect() failed at
 * once (health_expire() then counts the failure). */
int health_start(struct health_check *hc, double now);

/* Result of the in-flight check (reads SO_ERROR); closes the socket. Returns true when the
 * up/down state changed. */
bool health_complete(struct health_check *hc, unsigned int rise, unsigned int fall);

/* Fails a check in flight for longer than timeout. Returns true when the state changed. */
bool health_expire(struct health_check *hc, double now, double timeout, unsigned int rise,
		   unsigned int fall);

void health_stop(struct health_check *hc);

#endif /* MARLLBD_HEALTH_H */
