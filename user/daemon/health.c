// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/health.h"

void health_init(struct health_check *hc, const struct inet_addr *addr, uint16_t port)
{
	memset(hc, 0, sizeof(*hc));
	hc->addr = *addr;
	hc->port = port;
	hc->fd = -1;
	hc->up = true;
}

static bool record(struct health_check *hc, bool ok, unsigned int rise, unsigned int fall)
{
	bool was_up = hc->up;

	hc->checks++;
	if (ok) {
		hc->fail_streak = 0;
		if (++hc->ok_streak >= rise)
			hc->up = true;
	} else {
		hc->failures++;
		hc->ok_streak = 0;
		if (++hc->fail_streak >= fall)
			hc->up = false;
	}
	return hc->up != was_up;
}

int health_start(struct health_check *hc, double now)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	len = inet_addr_sockaddr(&hc->addr, hc->port, &ss);
	hc->started = now;
	fd = socket(hc->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		hc->failed_to_start = true;
		return -1;
	}
	hc->fd = fd;
	return fd;
}

void health_stop(struct health_check *hc)
{
	if (hc->fd >= 0)
		close(hc->fd);
	hc->fd = -1;
}

bool health_complete(struct health_check *hc, unsigned int rise, unsigned int fall)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(int), plen = sizeof(peer);
	int soerr = 0;
	bool ok;

	if (hc->fd < 0)
		return false;
	/* Connected means no error and a peer: a connect still in progress (an event that was
	 * meant for an earlier socket of the same number) has no peer yet. */
	ok = !getsockopt(hc->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) && !soerr &&
	     !getpeername(hc->fd, (struct sockaddr *)&peer, &plen);
	if (!ok && !soerr && errno == ENOTCONN)
		return false; /* not finished: keep waiting */
	health_stop(hc);
	return record(hc, ok, rise, fall);
}

bool health_expire(struct health_check *hc, double now, double timeout, unsigned int rise,
		   unsigned int fall)
{
	if (hc->failed_to_start) {
		hc->failed_to_start = false;
		return record(hc, false, rise, fall);
	}
	if (hc->fd < 0 || now - hc->started < timeout)
		return false;
	health_stop(hc);
	return record(hc, false, rise, fall);
}
