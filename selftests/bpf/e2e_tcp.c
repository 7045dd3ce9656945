// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal TCP server and client for the namespace end-to-end test.
 *   e2e_tcp serve PORT NAME SECONDS     answer each connection with NAME, then close; exit
 *                                       after SECONDS
 *   e2e_tcp connect ADDR PORT N SECONDS N sequential connections; prints "NAME count" per
 *                                       server; exit 0 only if all N got an answer in time
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_NAMES 16

static int serve(int port, const char *name, int seconds)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	char buf[256];

	alarm(seconds); /* bounded in time whatever happens */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 64)) {
		perror("e2e_tcp serve");
		return 1;
	}
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		if (read(c, buf, sizeof(buf)) > 0 && write(c, name, strlen(name)) < 0)
			perror("e2e_tcp write");
		close(c); /* the server closes first, like an HTTP/1.0 server */
	}
}

static int connect_many(const char *ip, int port, int n, int seconds)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 2 };
	char names[MAX_NAMES][64];
	int counts[MAX_NAMES] = {}, n_names = 0, ok = 0;

	alarm(seconds);
	if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
		fprintf(stderr, "e2e_tcp: bad address %s\n", ip);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), len = 0, r, j;
		char buf[64];

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
		    write(fd, "hello\n", 6) != 6) {
			fprintf(stderr, "e2e_tcp: connection %d: %s\n", i, strerror(errno));
			close(fd);
			continue;
		}
		while (len < (int)sizeof(buf) - 1 &&
		       (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += r;
		close(fd);
		buf[len] = 0;
		if (!len) {
			fprintf(stderr, "e2e_tcp: connection %d: no answer\n", i);
			continue;
		}
		for (j = 0; j < n_names && strcmp(names[j], buf); j++)
			;
		if (j == n_names && n_names < MAX_NAMES)
			snprintf(names[n_names++], sizeof(names[0]), "%s", buf);
		if (j < MAX_NAMES)
			counts[j]++;
		ok++;
	}
	for (int j = 0; j < n_names; j++)
		printf("%s %d\n", names[j], counts[j]);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), argv[3], atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "connect"))
		return connect_many(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: e2e_tcp serve PORT NAME SECONDS | connect ADDR PORT N SECONDS\n");
	return 2;
}
