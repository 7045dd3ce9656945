// SPDX-License-Identifier: GPL-2.0
/*
 * marllb-testsrv: a small HTTP/1.1 server whose speed is explicit, for tests and fast
 * testbed runs. A fixed pool of workers serves accepted connections in arrival order
 * (one FCFS queue), so a slow server really builds a queue, as a real one does.
 *
 * Service time of a request, divided by --speed:
 *   ?ms=M   M milliseconds
 *   ?n=N    N loop iterations (the trace's PHP page); in sleep mode N / --iter-rate seconds
 *   else    --service-ms
 * plus ?wait_ms=W: an IO wait (a database, a disk) of W ms, not divided by --speed and
 * costing no CPU in either mode.
 * --mode sleep waits (costs no CPU, so many servers fit on a small machine);
 * --mode cpu burns the worker's CPU time, so cgroup CPU quotas set the speed.
 *
 * The body reports the request's accept sequence number, worker and service interval
 * (CLOCK_MONOTONIC, microseconds), which lets tests check the queueing discipline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include "http_query.h"
#include "../common/cli.h"

enum service_mode { MODE_SLEEP, MODE_CPU };

struct options {
	const char *listen;
	int workers;
	double service_ms;
	double speed;
	double iter_rate;
	enum service_mode mode;
	int queue_max;
	bool keep_alive;
	int verbose;
};

static const struct options defaults = {
	.listen = "127.0.0.1:8080",
	.workers = 4,
	.service_ms = 0,
	.speed = 1.0,
	.iter_rate = 5e7,
	.mode = MODE_SLEEP,
	.queue_max = 4096,
	.keep_alive = false,
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: marllb-testsrv [OPTIONS]\n"
		"A small HTTP/1.1 server with a controllable service time, for tests.\n"
		"Answers GET and HEAD with 200 and a short text body; W workers serve accepted\n"
		"connections first come, first served; the rest wait in one queue.\n\n"
		"  -l, --listen ADDR:PORT   address to listen on, [ADDR]:PORT for IPv6; port 0 picks\n"
		"                           a free port (default %s)\n"
		"  -w, --workers W          concurrent requests in service (default %d)\n"
		"  -s, --service-ms MS      service time of a request without ?ms= or ?n= (default %g)\n"
		"  -S, --speed F            divide every service time by F (default %g)\n"
		"  -m, --mode sleep|cpu     sleep: wait, costs no CPU; cpu: burn the worker's CPU time,\n"
		"                           so CPU quotas slow it down (default sleep)\n"
		"  -r, --iter-rate R        iterations per second of ?n=N in sleep mode (default %g)\n"
		"  -q, --queue-max Q        connections waiting for a worker; beyond, new ones are\n"
		"                           closed unanswered (default %d)\n"
		"  -k, --keep-alive         serve further requests on a connection (HTTP/1.1 without\n"
		"                           'Connection: close'); default: close after each response\n"
		"  -v, --verbose            log each request to stderr\n"
		"  -h, --help               this text\n\n"
		"Per request: ?ms=M sets the service time in ms, ?n=N in loop iterations (as the\n"
		"trace's PHP page), ?wait_ms=W adds an IO wait of W ms (not divided by --speed, no\n"
		"CPU), ?bytes=B pads the body to B bytes. Prints 'listening on ADDR:PORT'\n"
		"on stdout when ready. SIGTERM or SIGINT: stop accepting, finish the accepted\n"
		"requests, exit 0.\n",
		defaults.listen, defaults.workers, defaults.service_ms, defaults.speed,
		defaults.iter_rate, defaults.queue_max);
}

struct conn_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	int *fds;
	uint64_t *seqs;
	int cap, head, len;
	bool closing;
};

struct server {
	struct options opt;
	struct conn_queue queue;
	int listen_fd;
	uint64_t next_seq;
	volatile int stopping;
	uint64_t served, rejected;
	pthread_mutex_t stats_lock;
};

static uint64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool queue_push(struct conn_queue *q, int fd, uint64_t seq)
{
	bool ok = false;

	pthread_mutex_lock(&q->lock);
	if (q->len < q->cap) {
		int tail = (q->head + q->len) % q->cap;

		q->fds[tail] = fd;
		q->seqs[tail] = seq;
		q->len++;
		ok = true;
		pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

/* Blocks until a connection is queued; returns -1 once closing and drained. */
static int queue_pop(struct conn_queue *q, uint64_t *seq)
{
	int fd = -1;

	pthread_mutex_lock(&q->lock);
	while (!q->len && !q->closing)
		pthread_cond_wait(&q->nonempty, &q->lock);
	if (q->len) {
		fd = q->fds[q->head];
		*seq = q->seqs[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	pthread_mutex_unlock(&q->lock);
	return fd;
}

static void sleep_us(double us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1e6),
			       .tv_nsec = (long)fmod(us * 1e3, 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Busy work until this thread has used us microseconds of CPU. */
static void burn_cpu_us(double us)
{
	uint64_t until = now_us(CLOCK_THREAD_CPUTIME_ID) + (uint64_t)us;

	while (now_us(CLOCK_THREAD_CPUTIME_ID) < until)
		;
}

/* The PHP page's loop: n iterations, formatting the counter every 4000. */
static unsigned long loop_iterations(uint64_t n)
{
	char line[32];
	unsigned long sink = 0;

	for (volatile uint64_t i = 0; i < n; i++) {
		if (i % 4000 == 0)
			sink += (unsigned long)snprintf(line, sizeof(line), "%llu\n",
							(unsigned long long)i);
	}
	return sink;
}

static void serve_time(const struct options *opt, const struct http_query *hq)
{
	double ms = opt->service_ms;

	if (hq->wait_ms > 0)
		sleep_us(hq->wait_ms * 1e3);
	if (hq->has_ms) {
		ms = hq->ms;
	} else if (hq->has_n) {
		if (opt->mode == MODE_CPU) {
			loop_iterations((uint64_t)(hq->n / opt->speed));
			return;
		}
		ms = hq->n / opt->iter_rate * 1e3;
	}
	ms /= opt->speed;
	if (ms <= 0)
		return;
	if (opt->mode == MODE_CPU)
		burn_cpu_us(ms * 1e3);
	else
		sleep_us(ms * 1e3);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_response(int fd, int status, const char *reason, const char *body,
			 size_t body_len, size_t pad_to, bool head_only, bool keep)
{
	char hdr[256];
	size_t total = body_len > pad_to ? body_len : pad_to;
	int hl = snprintf(hdr, sizeof(hdr),
			  "HTTP/1.1 %d %s\r\nServer: marllb-testsrv\r\nContent-Type: text/plain\r\n"
			  "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
			  status, reason, total, keep ? "keep-alive" : "close");

	if (write_all(fd, hdr, (size_t)hl))
		return -1;
	if (head_only)
		return 0;
	if (write_all(fd, body, body_len))
		return -1;
	for (size_t left = total - body_len; left;) {
		static const char pad[1024] = { [0 ... 1022] = 'x', [1023] = '\n' };
		size_t chunk = left < sizeof(pad) ? left : sizeof(pad);

		if (write_all(fd, pad + sizeof(pad) - chunk, chunk))
			return -1;
		left -= chunk;
	}
	return 0;
}

/*
 * Reads one request head into buf (carrying over pipelined bytes in *have).
 * Returns the head's length including the blank line, 0 on orderly EOF, -1 on error.
 */
static int read_request_head(int fd, char *buf, size_t cap, size_t *have)
{
	for (;;) {
		char *end;

		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			return (int)(end + 4 - buf);
		if (*have >= cap - 1)
			return -1;
		ssize_t n = recv(fd, buf + *have, cap - 1 - *have, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && *have == 0)
			return 0;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

static bool header_says_close(const char *head)
{
	const char *p = head;

	while ((p = strchr(p, '\n'))) {
		p++;
		if (!strncasecmp(p, "Connection:", 11)) {
			p += 11;
			while (*p == ' ' || *p == '\t')
				p++;
			return !strncasecmp(p, "close", 5);
		}
	}
	return false;
}

static void serve_connection(struct server *srv, int fd, uint64_t seq, int worker)
{
	const struct options *opt = &srv->opt;
	char buf[8192];
	size_t have = 0;
	uint64_t accepted_us = now_us(CLOCK_MONOTONIC);

	for (;;) {
		struct http_query hq;
		char method[8], target[4096], version[16], body[512];
		uint64_t start_us, end_us;
		bool keep;
		int head_len = read_request_head(fd, buf, sizeof(buf), &have);

		if (head_len <= 0)
			break;
		if (sscanf(buf, "%7s %4095s %15s", method, target, version) != 3 ||
		    strncmp(version, "HTTP/1.", 7)) {
			send_response(fd, 400, "Bad Request", "bad request line\n", 17, 0, false,
				      false);
			break;
		}
		bool head_only = !strcmp(method, "HEAD");

		if (strcmp(method, "GET") && !head_only) {
			send_response(fd, 405, "Method Not Allowed", "GET or HEAD only\n", 17, 0,
				      false, false);
			break;
		}
		if (http_query_parse(target, &hq)) {
			send_response(fd, 400, "Bad Request", "bad query value\n", 16, 0, false,
				      false);
			break;
		}
		char after_head = buf[head_len];

		buf[head_len] = '\0'; /* a pipelined request's headers are not this one's */
		keep = opt->keep_alive && !strcmp(version, "HTTP/1.1") && !header_says_close(buf) &&
		       !srv->stopping;
		buf[head_len] = after_head;
		start_us = now_us(CLOCK_MONOTONIC);
		serve_time(opt, &hq);
		end_us = now_us(CLOCK_MONOTONIC);
		int bl = snprintf(body, sizeof(body),
				  "seq=%llu worker=%d accepted_us=%llu start_us=%llu end_us=%llu\n",
				  (unsigned long long)seq, worker,
				  (unsigned long long)accepted_us, (unsigned long long)start_us,
				  (unsigned long long)end_us);
		if (send_response(fd, 200, "OK", body, (size_t)bl, hq.bytes, head_only, keep))
			break;
		pthread_mutex_lock(&srv->stats_lock);
		srv->served++;
		pthread_mutex_unlock(&srv->stats_lock);
		if (opt->verbose)
			fprintf(stderr, "testsrv: seq %llu worker %d %s %.3f ms\n",
				(unsigned long long)seq, worker, target, (end_us - start_us) / 1e3);
		if (!keep)
			break;
		memmove(buf, buf + head_len, have - (size_t)head_len);
		have -= (size_t)head_len;
	}
	/* The server closes first: its FIN ends the response, the client's FIN follows. */
	shutdown(fd, SHUT_WR);
	close(fd);
}

struct worker_arg {
	struct server *srv;
	int id;
};

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	uint64_t seq;
	int fd;

	while ((fd = queue_pop(&wa->srv->queue, &seq)) >= 0)
		serve_connection(wa->srv, fd, seq, wa->id);
	return NULL;
}

/* "ADDR:PORT" or "[ADDR]:PORT" -> bound, listening socket; port 0 picks one. */
static int open_listener(const char *spec, char *shown, size_t shown_len)
{
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai;
	const char *colon = strrchr(spec, ':');
	int fd, one = 1, err;

	if (!colon || colon == spec || strlen(colon + 1) >= sizeof(port) || !colon[1]) {
		fprintf(stderr, "testsrv: --listen '%s': expected ADDR:PORT or [ADDR]:PORT\n",
			spec);
		return -1;
	}
	size_t hl = (size_t)(colon - spec);

	if (spec[0] == '[') {
		if (hl < 3 || spec[hl - 1] != ']') {
			fprintf(stderr, "testsrv: --listen '%s': missing ']'\n", spec);
			return -1;
		}
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		fprintf(stderr, "testsrv: --listen '%s': address too long\n", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "testsrv: --listen '%s': %s\n", spec, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
		fprintf(stderr, "testsrv: cannot listen on %s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[INET6_ADDRSTRLEN], p[8];

	getsockname(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(shown, shown_len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
	return fd;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "service-ms", required_argument, NULL, 's' },
		{ "speed", required_argument, NULL, 'S' },
		{ "mode", required_argument, NULL, 'm' },
		{ "iter-rate", required_argument, NULL, 'r' },
		{ "queue-max", required_argument, NULL, 'q' },
		{ "keep-alive", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const char *const mode_names[] = {
		[MODE_SLEEP] = "sleep", [MODE_CPU] = "cpu", NULL
	};
	const struct cli_number_opt numbers[] = {
		{ 's', "--service-ms", 0, 3.6e6, &opt->service_ms },
		{ 'S', "--speed", 1e-6, 1e6, &opt->speed },
		{ 'r', "--iter-rate", 1, 1e12, &opt->iter_rate },
		{},
	};
	double v;
	int c, mode;

	*opt = defaults;
	while ((c = getopt_long(argc, argv, "l:w:s:S:m:r:q:kvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			opt->listen = optarg;
			break;
		case 'w':
		case 'q':
			if (cli_number("testsrv", c == 'w' ? "--workers" : "--queue-max", optarg,
				       1, 100000, &v))
				return -1;
			if (v != floor(v)) {
				fprintf(stderr, "testsrv: %s '%s': expected an integer\n",
					c == 'w' ? "--workers" : "--queue-max", optarg);
				return -1;
			}
			*(c == 'w' ? &opt->workers : &opt->queue_max) = (int)v;
			break;
		case 'm':
			if (cli_choice("testsrv", "--mode", optarg, mode_names, &mode))
				return -1;
			opt->mode = (enum service_mode)mode;
			break;
		case 'k':
			opt->keep_alive = true;
			break;
		case 'v':
			opt->verbose++;
			break;
		default:
			if (cli_default_option("testsrv", numbers, c, optarg, usage))
				return -1;
			break;
		}
	}
	return cli_no_operands("testsrv", argc, argv);
}

int main(int argc, char **argv)
{
	static struct server srv;
	struct worker_arg *args = NULL;
	pthread_t *threads = NULL;
	char shown[INET6_ADDRSTRLEN + 16];
	sigset_t sigs;
	int sfd = -1, rc = 1, started = 0;

	if (parse_options(argc, argv, &srv.opt))
		return 2;
	/* Workers inherit the blocked mask; only the accept loop hears signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	srv.listen_fd = open_listener(srv.opt.listen, shown, sizeof(shown));
	if (sfd < 0 || srv.listen_fd < 0)
		goto out;

	pthread_mutex_init(&srv.queue.lock, NULL);
	pthread_cond_init(&srv.queue.nonempty, NULL);
	pthread_mutex_init(&srv.stats_lock, NULL);
	srv.queue.cap = srv.opt.queue_max;
	srv.queue.fds = calloc((size_t)srv.queue.cap, sizeof(int));
	srv.queue.seqs = calloc((size_t)srv.queue.cap, sizeof(uint64_t));
	threads = calloc((size_t)srv.opt.workers, sizeof(*threads));
	args = calloc((size_t)srv.opt.workers, sizeof(*args));
	if (!srv.queue.fds || !srv.queue.seqs || !threads || !args) {
		fprintf(stderr, "testsrv: out of memory\n");
		goto out;
	}
	for (; started < srv.opt.workers; started++) {
		args[started] = (struct worker_arg){ &srv, started };
		if (pthread_create(&threads[started], NULL, worker_main, &args[started])) {
			fprintf(stderr, "testsrv: cannot start worker %d\n", started);
			goto stop;
		}
	}
	printf("listening on %s\n", shown);
	fflush(stdout);

	while (!srv.stopping) {
		struct pollfd pfd[2] = { { srv.listen_fd, POLLIN, 0 }, { sfd, POLLIN, 0 } };

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			srv.stopping = 1;
		if (!(pfd[0].revents & POLLIN) || srv.stopping)
			continue;
		int cfd = accept4(srv.listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (cfd < 0)
			continue;
		/* A stuck client must not hold a worker forever. */
		struct timeval tv = { .tv_sec = 10 };

		setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!queue_push(&srv.queue, cfd, srv.next_seq++)) {
			srv.rejected++;
			close(cfd);
		}
	}
	rc = 0;
stop:
	close(srv.listen_fd);
	pthread_mutex_lock(&srv.queue.lock);
	srv.queue.closing = true;
	pthread_cond_broadcast(&srv.queue.nonempty);
	pthread_mutex_unlock(&srv.queue.lock);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	fprintf(stderr, "testsrv: %s: served %llu requests, rejected %llu connections\n", shown,
		(unsigned long long)srv.served, (unsigned long long)srv.rejected);
out:
	free(threads);
	free(args);
	free(srv.queue.fds);
	free(srv.queue.seqs);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
