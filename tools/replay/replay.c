// SPDX-License-Identifier: GPL-2.0
/*
 * marllb-replay: open-loop HTTP replay of a trace. Each trace line starts one request at
 * its arrival time, whether or not earlier ones have finished (the load does not adapt to
 * the servers, as real users don't). One thread, epoll, non-blocking connects; a request
 * is: connect, send "GET query" with "Connection: close", read until the server's FIN,
 * close (our FIN). Its task completion time (TCT) is connect() to that FIN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/cli.h"
#include "stats.h"
#include "trace.h"

enum outcome {
	OUT_PENDING,
	OUT_OK,		/* 2xx status and the server closed */
	OUT_HTTP,	/* other status */
	OUT_TIMEOUT,	/* not finished within --timeout */
	OUT_CONNECT,	/* connect() failed (refused, unreachable, no ports) */
	OUT_IO,		/* reset or malformed response */
	OUT_OVERLOAD,	/* --max-inflight requests were already open */
	OUT_ABORTED,	/* stopped by a signal */
	OUT_COUNT
};

static const char *const outcome_names[OUT_COUNT] = {
	"pending", "ok", "http", "timeout", "connect", "io", "overload", "aborted",
};

struct record {
	double sched, start, end;	/* seconds from the replay's start */
	uint64_t bytes;			/* body bytes received */
	int status;			/* HTTP status, 0 when none was read */
	int err;			/* errno of a connect or I/O failure */
	enum outcome outcome;
};

enum conn_state { CONNECTING, SENDING, RECEIVING };

struct conn {
	int fd;
	uint32_t idx;
	enum conn_state state;
	size_t sent;
	uint64_t deadline_ns;
	char head[16];		/* first bytes of the response: the status line */
	uint8_t head_len;
	uint8_t eoh_matched;	/* bytes of "\r\n\r\n" matched so far */
	bool in_body;
	struct conn *prev, *next; /* open requests, oldest first: deadlines in order */
};

struct options {
	const char *trace_path;
	const char *target;
	const char *csv_path;
	struct trace_select sel;
	double timeout;
	double warmup; /* requests scheduled before this are sent, not summarised */
	double progress; /* seconds between progress lines; 0: one updated status line */
	int max_inflight;
	bool quiet;
};

struct replay {
	struct options opt;
	struct trace trace;
	struct record *rec;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char host[INET6_ADDRSTRLEN + 8];
	int ep;
	uint64_t t0;
	struct conn *oldest, *newest;
	int open;
	int peak_open;
	size_t done, failed;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = sig;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double rel_s(const struct replay *r, uint64_t ns)
{
	return (double)(int64_t)(ns - r->t0) / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: marllb-replay [OPTIONS] TRACE http://ADDR[:PORT]\n"
		"Open-loop replay of a trace file ('time<TAB>query' lines after that header; '-'\n"
		"reads stdin) against one HTTP server or VIP: each request starts at its time.\n\n"
		"  -r, --rate-scale F     divide inter-arrival times by F: F=2 doubles the rate\n"
		"                         (default 1)\n"
		"  -w, --work-scale F     multiply each query's n= by F (default 1)\n"
		"  -s, --start S          skip the first S seconds of the trace (default 0)\n"
		"  -d, --duration S       replay S seconds of (scaled) trace; 0: all (default 0)\n"
		"  -W, --warmup S         requests scheduled in the first S seconds are sent but left\n"
		"                         out of the summary (servers and LBs reach their steady\n"
		"                         state first; default 0)\n"
		"  -t, --timeout S        a request not finished S seconds after its connect()\n"
		"                         fails as 'timeout' (default 30)\n"
		"  -m, --max-inflight N   open requests at most; a request arriving beyond fails\n"
		"                         as 'overload' (default: open-file limit - 64)\n"
		"  -o, --csv FILE         per-request records: id,sched_s,start_s,end_s,tct_s,\n"
		"                         status,bytes,outcome,measured,path (seconds from the\n"
		"                         replay's start; measured 0 for a warm-up request; path\n"
		"                         without its query)\n"
		"  -P, --progress S       a progress line on stderr every S seconds (default: one\n"
		"                         status line updated in place)\n"
		"  -q, --quiet            no progress on stderr\n"
		"  -h, --help             this text\n\n"
		"Prints a summary on stdout, one 'key value' per line, of the requests after the\n"
		"warm-up: requests, ok, failed and failed_<timeout|connect|http|io|overload>,\n"
		"aborted, warmup (requests left out), then the TCT (connect() to the\n"
		"server's FIN, seconds) of the ok requests: mean_s, p50_s, p90_s, p99_s, p999_s\n"
		"(nearest rank), max_s; bytes (body bytes received), peak_open (most requests open\n"
		"at once), start_lag_p99_ms (how late requests started), wall_s.\n"
		"Exit status: 0 when the replay ran to its end (whatever the failures), 1 on an error,\n"
		"2 on bad usage, 130 when interrupted.\n");
}

/* http://ADDR[:PORT] or ADDR[:PORT], ADDR an IPv4 literal or [IPv6]; no path. */
static int parse_target(struct replay *r, const char *url)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	char host[INET6_ADDRSTRLEN + 1], port[8] = "80";
	const char *p = url, *hend, *pstart = NULL;
	size_t hl;
	int err;

	if (!strncmp(p, "http://", 7))
		p += 7;
	if (*p == '[') {
		hend = strchr(++p, ']');
		if (!hend)
			goto bad;
		if (hend[1] == ':')
			pstart = hend + 2;
		else if (hend[1])
			goto bad;
	} else {
		hend = p + strcspn(p, ":/");
		if (*hend == ':')
			pstart = hend + 1;
		else if (*hend)
			goto bad;
	}
	hl = (size_t)(hend - p);
	if (!hl || hl >= sizeof(host))
		goto bad;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (pstart) {
		if (!*pstart || strlen(pstart) >= sizeof(port) ||
		    strspn(pstart, "0123456789") != strlen(pstart))
			goto bad;
		strcpy(port, pstart);
	}
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "replay: target '%s': %s\n", url, gai_strerror(err));
		return -1;
	}
	memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
	r->addr_len = ai->ai_addrlen;
	snprintf(r->host, sizeof(r->host), ai->ai_family == AF_INET6 ? "[%s]" : "%s", host);
	freeaddrinfo(ai);
	return 0;
bad:
	fprintf(stderr, "replay: target '%s': expected http://ADDR[:PORT] with a numeric address "
			"and no path\n", url);
	return -1;
}

static int parse_options(int argc, char **argv, struct replay *r)
{
	static const struct option longopts[] = {
		{ "rate-scale", required_argument, NULL, 'r' },
		{ "work-scale", required_argument, NULL, 'w' },
		{ "start", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "progress", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "max-inflight", required_argument, NULL, 'm' },
		{ "csv", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct options *o = &r->opt;
	const struct cli_number_opt numbers[] = {
		{ 'r', "--rate-scale", 1e-6, 1e6, &o->sel.rate_scale },
		{ 'w', "--work-scale", 0, 1e6, &o->sel.work_scale },
		{ 's', "--start", 0, 1e9, &o->sel.start },
		{ 'd', "--duration", 0, 1e9, &o->sel.duration },
		{ 't', "--timeout", 1e-3, 86400, &o->timeout },
		{ 'W', "--warmup", 0, 1e9, &o->warmup },
		{ 'P', "--progress", 1e-3, 86400, &o->progress },
		{},
	};
	double v;
	int c;

	trace_select_default(&o->sel);
	o->timeout = 30;
	while ((c = getopt_long(argc, argv, "r:w:s:d:W:P:t:m:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (cli_number("replay", "--max-inflight", optarg, 1, 1e7, &v))
				return -1;
			if (v != floor(v)) {
				fprintf(stderr, "replay: --max-inflight '%s': expected an integer\n",
					optarg);
				return -1;
			}
			o->max_inflight = (int)v;
			break;
		case 'o':
			o->csv_path = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		default:
			if (cli_default_option("replay", numbers, c, optarg, usage))
				return -1;
			break;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "replay: expected TRACE and http://ADDR[:PORT] (see --help)\n");
		return -1;
	}
	o->trace_path = argv[optind];
	o->target = argv[optind + 1];
	return parse_target(r, o->target);
}

static void list_remove(struct replay *r, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		r->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		r->newest = c->prev;
}

static void finish(struct replay *r, struct conn *c, enum outcome out, int err)
{
	struct record *rec = &r->rec[c->idx];

	rec->end = rel_s(r, mono_ns());
	rec->outcome = out;
	rec->err = err;
	r->done++;
	r->failed += out != OUT_OK;
	close(c->fd);
	list_remove(r, c);
	r->open--;
	free(c);
}

/* The server closed: judge the response by its status line. */
static void finish_response(struct replay *r, struct conn *c)
{
	struct record *rec = &r->rec[c->idx];
	int status = 0;

	c->head[c->head_len < sizeof(c->head) ? c->head_len : sizeof(c->head) - 1] = '\0';
	if (c->in_body && sscanf(c->head, "HTTP/1.%*1[01] %3d", &status) == 1)
		rec->status = status;
	if (!rec->status)
		finish(r, c, OUT_IO, EPROTO);
	else
		finish(r, c, status >= 200 && status < 300 ? OUT_OK : OUT_HTTP, 0);
}

static void send_request(struct replay *r, struct conn *c)
{
	char req[TRACE_MAX_QUERY + 256];
	int len = snprintf(req, sizeof(req),
			   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: marllb-replay\r\n"
			   "Connection: close\r\n\r\n",
			   r->trace.entries[c->idx].query, r->host);

	while (c->sent < (size_t)len) {
		ssize_t n = send(c->fd, req + c->sent, (size_t)len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (c->state != SENDING) {
				struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

				c->state = SENDING;
				epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
			return;
		}
		if (n <= 0) {
			finish(r, c, OUT_IO, errno);
			return;
		}
		c->sent += (size_t)n;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };

	c->state = RECEIVING;
	epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void receive(struct replay *r, struct conn *c)
{
	static const char eoh[] = "\r\n\r\n";
	char buf[16384];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			finish(r, c, OUT_IO, errno);
			return;
		}
		if (n == 0) {
			finish_response(r, c);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (c->head_len < sizeof(c->head))
				c->head[c->head_len++] = buf[i];
			if (c->in_body) {
				r->rec[c->idx].bytes += (uint64_t)(n - i);
				break;
			}
			c->eoh_matched = buf[i] == eoh[c->eoh_matched] ? c->eoh_matched + 1
				       : buf[i] == '\r'		    ? 1
									    : 0;
			if (c->eoh_matched == 4)
				c->in_body = true;
		}
	}
}

static void on_event(struct replay *r, struct conn *c, uint32_t events)
{
	if (c->state == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			finish(r, c, OUT_CONNECT, err);
			return;
		}
		if (!(events & EPOLLOUT)) {
			finish(r, c, OUT_CONNECT, ECONNABORTED);
			return;
		}
		send_request(r, c);
	} else if (c->state == SENDING) {
		send_request(r, c);
	} else {
		receive(r, c);
	}
}

static void launch(struct replay *r, uint32_t idx, uint64_t now)
{
	struct record *rec = &r->rec[idx];
	struct epoll_event ev = { .events = EPOLLOUT };
	struct conn *c;
	int fd;

	rec->start = rel_s(r, now);
	rec->end = rec->start;
	if (r->open >= r->opt.max_inflight) {
		rec->outcome = OUT_OVERLOAD;
		return;
	}
	fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rec->outcome = OUT_CONNECT;
		rec->err = errno;
		return;
	}
	if (connect(fd, (struct sockaddr *)&r->addr, r->addr_len) && errno != EINPROGRESS) {
		rec->outcome = OUT_CONNECT;
		rec->err = errno;
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rec->outcome = OUT_OVERLOAD;
		close(fd);
		return;
	}
	c->fd = fd;
	c->idx = idx;
	c->deadline_ns = now + (uint64_t)(r->opt.timeout * 1e9);
	c->prev = r->newest;
	if (r->newest)
		r->newest->next = c;
	else
		r->oldest = c;
	r->newest = c;
	if (++r->open > r->peak_open)
		r->peak_open = r->open;
	ev.data.ptr = c;
	epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* One line in place, or with --progress a line per report (for logs and wrappers). */
static void progress(const struct replay *r, uint64_t now, size_t next)
{
	double span = r->trace.count ? r->trace.entries[r->trace.count - 1].time : 0;

	if (r->opt.progress)
		fprintf(stderr,
			"replay: %.0f of %.0f s, %zu/%zu started, %d open, %zu done, "
			"%zu failed%s\n",
			rel_s(r, now), span, next, r->trace.count, r->open, r->done, r->failed,
			rel_s(r, now) < r->opt.warmup ? " (warm-up)" : "");
	else
		fprintf(stderr, "\rreplay: %.0f s, %zu/%zu started, %d open   ", rel_s(r, now),
			next, r->trace.count, r->open);
}

static bool measured(const struct replay *r, size_t i)
{
	return r->trace.entries[i].time >= r->opt.warmup;
}

static void run(struct replay *r)
{
	struct epoll_event events[256];
	size_t next = 0, count = r->trace.count;
	uint64_t last_progress, progress_ns = r->opt.progress > 0 ?
						      (uint64_t)(r->opt.progress * 1e9) :
						      1000000000ull;

	r->t0 = mono_ns() + 10 * 1000000ull; /* a moment to settle before the first arrival */
	last_progress = r->t0;
	while ((next < count || r->oldest) && !stop_requested) {
		uint64_t now = mono_ns(), wake = UINT64_MAX;

		while (next < count && r->t0 + (uint64_t)(r->trace.entries[next].time * 1e9) <= now)
			launch(r, (uint32_t)next++, now);
		while (r->oldest && r->oldest->deadline_ns <= now)
			finish(r, r->oldest, OUT_TIMEOUT, ETIMEDOUT);
		if (next < count)
			wake = r->t0 + (uint64_t)(r->trace.entries[next].time * 1e9);
		if (r->oldest && r->oldest->deadline_ns < wake)
			wake = r->oldest->deadline_ns;
		if (wake == UINT64_MAX)
			break;
		if (!r->opt.quiet && now > last_progress && now - last_progress > progress_ns) {
			progress(r, now, next);
			last_progress = now;
		}
		uint64_t wait = wake > now ? wake - now : 0;
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ull),
				       .tv_nsec = (long)(wait % 1000000000ull) };
		int n = epoll_pwait2(r->ep, events, 256, &ts, NULL);

		for (int i = 0; i < n; i++)
			on_event(r, events[i].data.ptr, events[i].events);
	}
	while (r->oldest)
		finish(r, r->oldest, OUT_ABORTED, EINTR);
	if (!r->opt.quiet && !r->opt.progress)
		fputc('\n', stderr);
	for (size_t i = 0; i < count; i++)
		r->rec[i].sched = r->trace.entries[i].time;
	if (stop_requested)
		for (size_t i = next; i < count; i++)
			r->rec[i].outcome = OUT_ABORTED;
}

static int write_csv(const struct replay *r, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "id,sched_s,start_s,end_s,tct_s,status,bytes,outcome,measured,path\n");
	for (size_t i = 0; i < r->trace.count; i++) {
		const struct record *rec = &r->rec[i];
		const char *q = r->trace.entries[i].query;

		fprintf(f, "%zu,%.6f,%.6f,%.6f,%.6f,%d,%llu,%s,%d,", i, rec->sched, rec->start,
			rec->end, rec->end - rec->start, rec->status,
			(unsigned long long)rec->bytes, outcome_names[rec->outcome],
			measured(r, i));
		/* the path, without its query; a comma would split the field */
		for (; *q && *q != '?'; q++)
			fputc(*q == ',' ? '_' : *q, f);
		fputc('\n', f);
	}
	if (fclose(f)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int print_summary(const struct replay *r, double wall)
{
	size_t count = r->trace.count, by[OUT_COUNT] = { 0 }, n_ok = 0, n = 0, warm = 0;
	double *tct = malloc((count + 1) * sizeof(double));
	double *lag = malloc((count + 1) * sizeof(double));
	struct tct_summary s, ls;
	uint64_t bytes = 0;
	int first_err = 0;

	if (!tct || !lag) {
		free(tct);
		free(lag);
		fprintf(stderr, "replay: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		const struct record *rec = &r->rec[i];

		if (!measured(r, i)) {
			warm++;
			continue;
		}
		by[rec->outcome]++;
		if (rec->outcome == OUT_OK)
			tct[n_ok++] = rec->end - rec->start;
		lag[n++] = rec->start - rec->sched;
		bytes += rec->bytes;
		if (!first_err && rec->err && rec->outcome != OUT_ABORTED)
			first_err = rec->err;
	}
	tct_summarise(tct, n_ok, &s);
	tct_summarise(lag, n, &ls);
	printf("requests %zu\nok %zu\nfailed %zu\n", n, by[OUT_OK],
	       n - by[OUT_OK] - by[OUT_ABORTED]);
	for (int o = OUT_HTTP; o < OUT_ABORTED; o++)
		printf("failed_%s %zu\n", outcome_names[o], by[o]);
	printf("aborted %zu\nwarmup %zu\n", by[OUT_ABORTED], warm);
	printf("mean_s %.6f\np50_s %.6f\np90_s %.6f\np99_s %.6f\np999_s %.6f\nmax_s %.6f\n",
	       s.mean, s.p50, s.p90, s.p99, s.p999, s.max);
	printf("bytes %llu\npeak_open %d\nstart_lag_p99_ms %.3f\nwall_s %.3f\n",
	       (unsigned long long)bytes, r->peak_open, ls.p99 * 1e3, wall);
	if (first_err)
		fprintf(stderr, "replay: first failure: %s\n", strerror(first_err));
	free(tct);
	free(lag);
	return 0;
}

int main(int argc, char **argv)
{
	static struct replay r;
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	char err[512];
	uint64_t began;
	int rc = 1;

	if (parse_options(argc, argv, &r))
		return 2;
	if (trace_load(r.opt.trace_path, &r.opt.sel, &r.trace, err, sizeof(err))) {
		fprintf(stderr, "replay: %s\n", err);
		return 1;
	}
	if (!r.trace.count) {
		fprintf(stderr, "replay: %s: no request selected (check --start and --duration)\n",
			r.opt.trace_path);
		goto out;
	}
	/* Thousands of open requests need as many descriptors. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (!r.opt.max_inflight)
			r.opt.max_inflight = rl.rlim_cur > 1064 ? (int)(rl.rlim_cur - 64) : 1000;
	}
	r.rec = calloc(r.trace.count, sizeof(*r.rec));
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!r.rec || r.ep < 0) {
		fprintf(stderr, "replay: cannot set up: %s\n", strerror(errno));
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	began = mono_ns();
	run(&r);
	if (r.opt.csv_path && write_csv(&r, r.opt.csv_path))
		goto out;
	if (print_summary(&r, (double)(mono_ns() - began) / 1e9))
		goto out;
	rc = stop_requested ? 130 : 0;
out:
	if (r.ep > 0)
		close(r.ep);
	free(r.rec);
	trace_free(&r.trace);
	return rc;
}
