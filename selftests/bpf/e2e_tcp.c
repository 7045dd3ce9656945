// SPDX-License-Identifier: GPL-2.0
/*
 * TCP server and clients for the namespace end-to-end tests. Every mode is bounded in time.
 * A request is a line: the server answers once it has read one ending in a newline.
 *   e2e_tcp serve PORT NAME SECONDS     answers "hello" with NAME and closes (the server
 *                                       closes first, like an HTTP/1.0 server); answers
 *                                       "hold" with NAME and keeps the connection, answering
 *                                       each "ping" with NAME; many connections at once (poll);
 *                                       IPv4 and IPv6
 *   e2e_tcp connect ADDR PORT N SECONDS [BYTES]
 *                                       N sequential requests (each with BYTES of padding
 *                                       before "hello": large segments); prints "NAME count"
 *                                       per server; exit 0 only if all N got an answer in time
 *   e2e_tcp load ADDR PORT RATE SECONDS open-loop requests, RATE per second (each in its own
 *                                       connection, up to 512 at once); one line per request,
 *                                       "T_MS NAME" or "T_MS FAIL why" (T_MS: its start,
 *                                       CLOCK_REALTIME ms); exit 0 only if none failed
 *   e2e_tcp hold ADDR PORT N SECONDS    opens N long-lived connections ("hold"), prints
 *                                       "opened OK FAILED"; then reads commands on stdin:
 *                                         ping     every open connection asks and must get an
 *                                                  answer: "ping OK FAILED"
 *                                         close K  closes the K oldest open ones: "closed K"
 *                                       EOF closes them all and exits
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 16
#define MAX_CONNS 8192
#define LOAD_INFLIGHT 512

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 3 * MAX_CONNS ? rl.rlim_max : 3 * MAX_CONNS;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static double now_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Server: poll over the listening socket and every connection. */
static int serve(int port, const char *name, int seconds)
{
	static struct pollfd pfd[MAX_CONNS + 1];
	static char held[MAX_CONNS + 1];
	struct sockaddr_in6 addr6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, zero = 0, lfd = socket(AF_INET6, SOCK_STREAM, 0), n = 1, bound;
	char buf[2048];

	alarm(seconds); /* bounded in time whatever happens */
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	if (lfd >= 0) { /* both families on one socket */
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		bound = bind(lfd, (struct sockaddr *)&addr6, sizeof(addr6));
	} else { /* no IPv6 */
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		bound = bind(lfd, (struct sockaddr *)&addr, sizeof(addr));
	}
	if (lfd < 0 || bound || listen(lfd, 4096)) {
		perror("e2e_tcp serve");
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, n, -1) < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int c = accept(lfd, NULL, NULL);

			if (c >= 0 && n <= MAX_CONNS) {
				pfd[n] = (struct pollfd){ .fd = c, .events = POLLIN };
				held[n++] = 0;
			} else if (c >= 0) {
				close(c);
			}
		}
		for (int i = 1; i < n; i++) {
			ssize_t len;
			bool done;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			len = read(pfd[i].fd, buf, sizeof(buf) - 1);
			done = len <= 0;
			if (len > 0 && buf[len - 1] != '\n')
				continue; /* the request goes on */
			if (len > 0) {
				buf[len] = 0;
				if (!strncmp(buf, "hold", 4))
					held[i] = 1;
				if (write(pfd[i].fd, name, strlen(name)) < 0)
					done = true;
				done |= !held[i]; /* a plain request: the server closes first */
			}
			if (done) {
				close(pfd[i].fd);
				pfd[i--] = pfd[--n];
				held[i + 1] = held[n];
			}
		}
	}
}

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static int connect_to(const struct addr *addr, int timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = socket(addr->ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends msg and reads the answer (at most len - 1 bytes) into buf; returns its length. */
static int ask(int fd, const char *msg, char *buf, int len)
{
	int r = -1;

	if (write(fd, msg, strlen(msg)) == (ssize_t)strlen(msg))
		r = read(fd, buf, len - 1);
	buf[r > 0 ? r : 0] = 0;
	return r;
}

static int parse_addr(const char *ip, int port, struct addr *addr)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&addr->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr->ss;

	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		addr->len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		addr->len = sizeof(*a6);
		return 0;
	}
	fprintf(stderr, "e2e_tcp: bad address %s\n", ip);
	return -1;
}

/* Writes BYTES of padding, then "hello\n". */
static int send_request(int fd, int bytes)
{
	static char pad[65536];

	if (bytes > (int)sizeof(pad))
		bytes = sizeof(pad);
	memset(pad, 'x', bytes);
	for (int done = 0, w; done < bytes; done += w) {
		w = write(fd, pad + done, bytes - done);
		if (w <= 0)
			return -1;
	}
	return write(fd, "hello\n", 6) == 6 ? 0 : -1;
}

static int connect_many(const char *ip, int port, int n, int seconds, int bytes)
{
	char names[MAX_NAMES][64];
	int counts[MAX_NAMES] = {}, n_names = 0, ok = 0;
	struct addr addr;

	alarm(seconds);
	if (parse_addr(ip, port, &addr))
		return 2;
	for (int i = 0; i < n; i++) {
		int fd = connect_to(&addr, 2), len = 0, r, j;
		char buf[64];

		if (fd < 0 || send_request(fd, bytes)) {
			fprintf(stderr, "e2e_tcp: connection %d: %s\n", i, strerror(errno));
			if (fd >= 0)
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

/* Open-loop load: a connection started every 1/rate s, each driven by poll. */
struct request {
	int fd;
	double start, start_wall;
	int state; /* 0 free, 1 connecting, 2 reading */
	char buf[64];
	int len;
};

static void request_done(struct request *r, const char *fail, int *failed)
{
	if (fail) {
		printf("%.0f FAIL %s\n", r->start_wall * 1e3, fail);
		(*failed)++;
	} else {
		printf("%.0f %s\n", r->start_wall * 1e3, r->buf);
	}
	close(r->fd);
	r->state = 0;
}

static int load(const char *ip, int port, double rate, double seconds)
{
	static struct request req[LOAD_INFLIGHT];
	struct pollfd pfd[LOAD_INFLIGHT];
	int failed = 0, slot[LOAD_INFLIGHT];
	double t0 = now_s(CLOCK_MONOTONIC), next = t0;
	struct addr addr;

	alarm((unsigned int)seconds + 10);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_addr(ip, port, &addr))
		return 2;
	for (;;) {
		double now = now_s(CLOCK_MONOTONIC);
		int n = 0, busy = 0, timeout;

		while (next <= now && next < t0 + seconds) {
			int i = 0;

			while (i < LOAD_INFLIGHT && req[i].state)
				i++;
			next += 1.0 / rate;
			if (i == LOAD_INFLIGHT) {
				printf("%.0f FAIL too many in flight\n",
				       now_s(CLOCK_REALTIME) * 1e3);
				failed++;
				continue;
			}
			req[i] = (struct request){ .start = now,
						   .start_wall = now_s(CLOCK_REALTIME) };
			req[i].fd = socket(addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (req[i].fd < 0 ||
			    (connect(req[i].fd, (struct sockaddr *)&addr.ss, addr.len) &&
			     errno != EINPROGRESS)) {
				req[i].state = 1;
				request_done(&req[i], strerror(errno), &failed);
				continue;
			}
			req[i].state = 1;
		}
		for (int i = 0; i < LOAD_INFLIGHT; i++) {
			if (!req[i].state)
				continue;
			busy++;
			if (now - req[i].start > 3) {
				request_done(&req[i], "timeout", &failed);
				continue;
			}
			pfd[n] = (struct pollfd){ .fd = req[i].fd,
						  .events = req[i].state == 1 ? POLLOUT : POLLIN };
			slot[n++] = i;
		}
		if (!busy && next >= t0 + seconds)
			break;
		timeout = (int)((next - now_s(CLOCK_MONOTONIC)) * 1e3);
		poll(pfd, n, timeout < 0 ? 0 : timeout > 10 ? 10 : timeout);
		for (int j = 0; j < n; j++) {
			struct request *r = &req[slot[j]];
			int err = 0;
			socklen_t el = sizeof(err);
			ssize_t got;

			if (!pfd[j].revents)
				continue;
			if (r->state == 1) {
				getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err || write(r->fd, "hello\n", 6) != 6) {
					request_done(r, strerror(err ? err : errno), &failed);
					continue;
				}
				r->state = 2;
				continue;
			}
			got = read(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
			if (got > 0) {
				r->len += got;
				r->buf[r->len] = 0;
			} else if (got == 0 || errno != EAGAIN) {
				request_done(r,
					     r->len ? NULL :
					     got    ? strerror(errno) :
						      "no answer",
					     &failed);
			}
		}
	}
	return failed ? 1 : 0;
}

/* Long-lived connections, driven by commands on stdin. */
static int hold(const char *ip, int port, int n, int seconds)
{
	static int fds[MAX_CONNS];
	int opened = 0, failed = 0, first = 0;
	struct addr addr;
	char line[64], buf[64];

	alarm(seconds);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_addr(ip, port, &addr) || n > MAX_CONNS)
		return 2;
	for (int i = 0; i < n; i++) {
		fds[opened] = connect_to(&addr, 3);
		if (fds[opened] >= 0 && ask(fds[opened], "hold\n", buf, sizeof(buf)) > 0)
			opened++;
		else
			failed += fds[opened] >= 0 ? (close(fds[opened]), 1) : 1;
	}
	printf("opened %d %d\n", opened, failed);
	while (fgets(line, sizeof(line), stdin)) {
		int k, ok = 0, bad = 0;

		if (!strncmp(line, "ping", 4)) {
			for (int i = first; i < opened; i++) {
				if (ask(fds[i], "ping\n", buf, sizeof(buf)) > 0)
					ok++;
				else
					bad++;
			}
			printf("ping %d %d\n", ok, bad);
		} else if (sscanf(line, "close %d", &k) == 1) {
			for (ok = 0; ok < k && first < opened; ok++)
				close(fds[first++]);
			printf("closed %d\n", ok);
		}
	}
	for (int i = first; i < opened; i++)
		close(fds[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), argv[3], atoi(argv[4]));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "connect"))
		return connect_many(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
				    argc == 7 ? atoi(argv[6]) : 0);
	if (argc == 6 && !strcmp(argv[1], "load"))
		return load(argv[2], atoi(argv[3]), atof(argv[4]), atof(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "hold"))
		return hold(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: e2e_tcp serve PORT NAME SECONDS | connect ADDR PORT N SECONDS "
			"[BYTES] |\n"
			"       load ADDR PORT RATE SECONDS | hold ADDR PORT N SECONDS\n");
	return 2;
}
