// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/metrics.h"

struct metrics_client {
	int fd; /* -1: free */
	double deadline;
	size_t got; /* request bytes read */
	char req[METRICS_REQUEST_MAX + 1];
	char *out; /* the whole response, once the request is in */
	size_t out_len, sent;
};

struct metrics_server {
	int epfd, listen_fd;
	uint16_t port;
	metrics_render_fn render;
	void *ctx;
	struct metrics_client clients[METRICS_MAX_CLIENTS];
	struct metrics_server_stats stats;
};

/* epoll_data.u32: the listening socket, or a client's index. */
#define LISTENER UINT32_MAX

void metrics_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct metrics_server *metrics_server_new(uint16_t port, metrics_render_fn render, void *ctx)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER };
	struct metrics_server *srv = calloc(1, sizeof(*srv));
	socklen_t len = sizeof(sin);
	int one = 1, err;

	if (!srv)
		return NULL;
	srv->render = render;
	srv->ctx = ctx;
	for (int i = 0; i < METRICS_MAX_CLIENTS; i++)
		srv->clients[i].fd = -1;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->epfd < 0 || srv->listen_fd < 0)
		goto fail;
	setsockopt(srv->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(srv->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(srv->listen_fd, 16) ||
	    getsockname(srv->listen_fd, (struct sockaddr *)&sin, &len) ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->listen_fd, &ev))
		goto fail;
	srv->port = ntohs(sin.sin_port);
	return srv;
fail:
	err = errno;
	metrics_server_free(srv);
	errno = err;
	return NULL;
}

static void client_close(struct metrics_server *srv, struct metrics_client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd); /* leaves the epoll set with it */
	free(c->out);
	c->fd = -1;
	c->out = NULL;
}

void metrics_server_free(struct metrics_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; i < METRICS_MAX_CLIENTS; i++)
		client_close(srv, &srv->clients[i]);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	free(srv);
}

int metrics_server_fd(const struct metrics_server *srv)
{
	return srv->epfd;
}

uint16_t metrics_server_port(const struct metrics_server *srv)
{
	return srv->port;
}

void metrics_server_stats(const struct metrics_server *srv, struct metrics_server_stats *st)
{
	*st = srv->stats;
}

/* The response, whole, in c->out; from now on the client is only written to. */
static void respond(struct metrics_server *srv, struct metrics_client *c, const char *status,
		    const char *type, const char *body, size_t len)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)(c - srv->clients) };
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);

	c->out = malloc(n + len);
	if (!c->out) {
		client_close(srv, c);
		return;
	}
	memcpy(c->out, head, n);
	memcpy(c->out + n, body, len);
	c->out_len = n + len;
	c->sent = 0;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		client_close(srv, c);
}

static void answer(struct metrics_server *srv, struct metrics_client *c)
{
	char *body = NULL;
	size_t body_len = 0;
	FILE *out;

	if (strncmp(c->req, "GET ", 4)) {
		srv->stats.bad++;
		respond(srv, c, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
		return;
	}
	if (strncmp(c->req + 4, "/metrics ", 9) && strncmp(c->req + 4, "/ ", 2)) {
		srv->stats.bad++;
		respond(srv, c, "404 Not Found", "text/plain", "try /metrics\n", 13);
		return;
	}
	out = open_memstream(&body, &body_len);
	if (!out) {
		respond(srv, c, "500 Internal Server Error", "text/plain", "out of memory\n", 14);
		return;
	}
	srv->render(out, srv->ctx);
	fclose(out);
	respond(srv, c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, body_len);
	free(body);
}

static void on_readable(struct metrics_server *srv, struct metrics_client *c)
{
	ssize_t n = recv(c->fd, c->req + c->got, METRICS_REQUEST_MAX - c->got, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* gone before its request was complete */
		client_close(srv, c);
		return;
	}
	c->got += n;
	c->req[c->got] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		answer(srv, c);
	} else if (c->got == METRICS_REQUEST_MAX) {
		srv->stats.bad++;
		respond(srv, c, "431 Request Header Fields Too Large", "text/plain",
			"request too large\n", 18);
	}
}

static void on_writable(struct metrics_server *srv, struct metrics_client *c)
{
	ssize_t n =
		send(c->fd, c->out + c->sent, c->out_len - c->sent, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(srv, c);
		return;
	}
	c->sent += n;
	if (c->sent == c->out_len) {
		srv->stats.served++;
		client_close(srv, c);
	}
}

static void on_accept(struct metrics_server *srv, double now)
{
	static const char busy[] = "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n"
				   "Connection: close\r\n\r\n";

	/* A few per event: the backlog is drained over later events, never in one long go. */
	for (int tries = 0; tries < METRICS_MAX_CLIENTS; tries++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct metrics_client *c = NULL;
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (int i = 0; i < METRICS_MAX_CLIENTS && !c; i++)
			if (srv->clients[i].fd < 0)
				c = &srv->clients[i];
		if (!c) { /* at the cap: a short answer that fits any socket buffer */
			srv->stats.refused++;
			if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				(void)0; /* the client left already */
			close(fd);
			continue;
		}
		c->fd = fd;
		c->got = 0;
		c->req[0] = '\0';
		c->deadline = now + METRICS_DEADLINE_S;
		ev.data.u32 = (uint32_t)(c - srv->clients);
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev))
			client_close(srv, c);
	}
}

void metrics_server_process(struct metrics_server *srv, double now)
{
	struct epoll_event evs[METRICS_MAX_CLIENTS + 1];
	int n = epoll_wait(srv->epfd, evs, METRICS_MAX_CLIENTS + 1, 0);

	for (int i = 0; i < n; i++) {
		struct metrics_client *c;

		if (evs[i].data.u32 == LISTENER) {
			on_accept(srv, now);
			continue;
		}
		c = &srv->clients[evs[i].data.u32];
		if (c->fd < 0)
			continue;
		if (c->out)
			on_writable(srv, c);
		else
			on_readable(srv, c);
	}
	metrics_server_expire(srv, now);
}

void metrics_server_expire(struct metrics_server *srv, double now)
{
	for (int i = 0; i < METRICS_MAX_CLIENTS; i++) {
		struct metrics_client *c = &srv->clients[i];

		if (c->fd >= 0 && now >= c->deadline) {
			srv->stats.timed_out++;
			client_close(srv, c);
		}
	}
}
