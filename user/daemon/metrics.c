// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/metrics.h"

#define CLIENT_TIMEOUT_MS 200
#define REQUEST_MAX 4096

int metrics_listen(uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1, fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void metrics_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);

	send_all(fd, head, n);
	send_all(fd, body, len);
}

void metrics_serve(int listen_fd, metrics_render_fn render, void *ctx)
{
	struct timeval tv = { .tv_usec = CLIENT_TIMEOUT_MS * 1000 };
	char req[REQUEST_MAX + 1];
	size_t got = 0, body_len = 0;
	char *body = NULL;
	bool is_get;
	FILE *out;
	int fd;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* The endpoint is local and answers one short request; a client that stalls is cut
	 * after CLIENT_TIMEOUT_MS so it cannot hold up the control loop. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < REQUEST_MAX) {
		ssize_t n = recv(fd, req + got, REQUEST_MAX - got, 0);

		if (n <= 0)
			break;
		got += n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = '\0';
	is_get = !strncmp(req, "GET ", 4);
	if (!is_get) {
		respond(fd, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
		goto out;
	}
	if (strncmp(req + 4, "/metrics ", 9) && strncmp(req + 4, "/ ", 2)) {
		respond(fd, "404 Not Found", "text/plain", "try /metrics\n", 13);
		goto out;
	}
	out = open_memstream(&body, &body_len);
	if (!out) {
		respond(fd, "500 Internal Server Error", "text/plain", "out of memory\n", 14);
		goto out;
	}
	render(out, ctx);
	fclose(out);
	respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, body_len);
	free(body);
out:
	close(fd);
}
