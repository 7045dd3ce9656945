// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the traffic tools on loopback: marllb-testsrv (answers, FCFS queueing with a
 * bounded worker pool, errors, clean SIGTERM), marllb-replay (counts, timeouts, refused
 * connects, malformed traces) and marllb-tracegen (format, determinism). The binaries are
 * found next to this test program.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"
#include "test_dir.h"
#include "../../tools/replay/stats.h"
#include "../../tools/replay/trace.h"
#include "../../tools/testsrv/http_query.h"

static char tmpdir[] = "/tmp/marllb-tools-XXXXXX";

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &cap, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

/* Runs a shell command line with the tools directory first in PATH; returns exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096], full[4096 + PATH_MAX + 32];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "PATH='%s':\"$PATH\"; %s", bindir, cmd);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Runs "marllb-replay -q ARGS", checks that it exits 0 (naming its stderr when not) and
 * returns its summary (free it).
 */
static char *replay_summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *replay_summary(const char *fmt, ...)
{
	const char *sum = tmp_path("replay.sum"), *errp = tmp_path("replay.err");
	char args[2048], *err;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = run("marllb-replay -q %s >'%s' 2>'%s'", args, sum, errp);
	err = read_file(errp);
	ASSERT_EQ(rc, 0, err[0] ? err : "replay exit");
	free(err);
	return read_file(sum);
}

/* Value of "key value" in a replay summary, -1 when missing. */
static double summary_get(const char *summary, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = summary; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return atof(p + kl + 1);
	return -1;
}

struct testsrv {
	pid_t pid;
	int port;
	char log[PATH_MAX];
};

/* Starts marllb-testsrv on 127.0.0.1 (unless opts has another -l) with a free port. */
static int testsrv_start(struct testsrv *s, const char *opts)
{
	char cmd[3 * PATH_MAX], line[256];
	int pipefd[2];
	FILE *out;

	snprintf(s->log, sizeof(s->log), "%s/testsrv-%d.log", tmpdir, getpid());
	snprintf(cmd, sizeof(cmd), "exec '%s/marllb-testsrv' -l 127.0.0.1:0 %s 2>'%s'", bindir,
		 opts, s->log);
	if (pipe(pipefd))
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	out = fdopen(pipefd[0], "r");
	s->port = 0;
	if (out && fgets(line, sizeof(line), out) && !strncmp(line, "listening on ", 13) &&
	    strrchr(line, ':'))
		s->port = atoi(strrchr(line, ':') + 1);
	if (out)
		fclose(out);
	return s->port > 0 ? 0 : -1;
}

/* SIGTERM, wait; returns the exit status. */
static int testsrv_stop(struct testsrv *s)
{
	int st;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if (waitpid(s->pid, &st, 0) < 0)
		return -1;
	s->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int connect_local(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 20 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads a whole response (until the server closes) into buf. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t have = 0;
	ssize_t n;

	while (have < cap - 1 && (n = recv(fd, buf + have, cap - 1 - have, 0)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	return (ssize_t)have;
}

/* One exchange on a fresh connection: sends req, reads until the server closes. */
static int exchange(int port, const char *req, char *resp, size_t cap)
{
	int fd = connect_local(port);

	if (fd < 0)
		return -1;
	send(fd, req, strlen(req), 0);
	read_all(fd, resp, cap);
	close(fd);
	return 0;
}

struct served {
	unsigned long long seq, start, end;
	int worker;
};

static int parse_served(const char *resp, struct served *sv)
{
	const char *body = strstr(resp, "\r\n\r\n");

	return body && sscanf(body + 4, "seq=%llu worker=%d accepted_us=%*u start_us=%llu "
					"end_us=%llu",
			      &sv->seq, &sv->worker, &sv->start, &sv->end) == 4
		       ? 0
		       : -1;
}

/* Sends `count` requests at once (all connected before any is read) and parses replies. */
static int burst(int port, const char *target, int count, struct served *sv)
{
	int fds[16];
	char req[256], resp[4096];
	int ok = 0;

	for (int i = 0; i < count; i++) {
		fds[i] = connect_local(port);
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
		/* connect() returns once the connection is in the accept queue: queue order is
		 * connect order. */
		if (fds[i] >= 0)
			send(fds[i], req, strlen(req), MSG_NOSIGNAL);
	}
	for (int i = 0; i < count; i++) {
		if (fds[i] < 0)
			continue;
		if (read_all(fds[i], resp, sizeof(resp)) > 0 && !strncmp(resp, "HTTP/1.1 200", 12) &&
		    !parse_served(resp, &sv[i]))
			ok++;
		close(fds[i]);
	}
	return ok;
}

static void test_http_query(void)
{
	struct http_query q;

	ASSERT_OK(http_query_parse("/dummy.php/?n=5478122", &q), "n");
	ASSERT_TRUE(q.has_n && !q.has_ms, "only n");
	ASSERT_EQ(q.n, 5478122, "n value");
	ASSERT_OK(http_query_parse("/w?x=1&ms=2.5&bytes=300#frag", &q), "ms and bytes");
	ASSERT_NEAR(q.ms, 2.5, 1e-12, "ms value");
	ASSERT_EQ(q.bytes, 300, "bytes value");
	ASSERT_OK(http_query_parse("/io.php/?wait_ms=120.5", &q), "wait_ms");
	ASSERT_NEAR(q.wait_ms, 120.5, 1e-12, "wait_ms value");
	ASSERT_FALSE(q.has_n || q.has_ms, "a wait is neither n nor ms");
	ASSERT_ERR(http_query_parse("/w?wait_ms=-3", &q), "negative wait");
	ASSERT_OK(http_query_parse("/plain", &q), "no query");
	ASSERT_FALSE(q.has_n || q.has_ms, "nothing set");
	ASSERT_ERR(http_query_parse("/w?n=abc", &q), "n not a number");
	ASSERT_ERR(http_query_parse("/w?n=1.5", &q), "n not an integer");
	ASSERT_ERR(http_query_parse("/w?ms=-1", &q), "negative ms");
	ASSERT_ERR(http_query_parse("/w?bytes=99999999999", &q), "too many bytes");
}

static void test_quantiles(void)
{
	double v[10] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	struct tct_summary s;

	tct_summarise(v, 10, &s);
	ASSERT_EQ(s.n, 10, "n");
	ASSERT_NEAR(s.mean, 5.5, 1e-12, "mean");
	ASSERT_NEAR(s.p50, 5, 0, "p50 nearest rank");
	ASSERT_NEAR(s.p90, 9, 0, "p90 nearest rank");
	ASSERT_NEAR(s.p99, 10, 0, "p99");
	ASSERT_NEAR(s.max, 10, 0, "max");
	tct_summarise(v, 0, &s);
	ASSERT_EQ(s.n, 0, "empty");
}

/* Selection gives the sorted array's nearest-rank quantile, with and without ties. */
static void test_quantile_select(void)
{
	static const double qs[] = { 0, 0.01, 0.5, 0.9, 0.99, 0.999, 1 };
	double sorted[997], work[997];
	unsigned int x = 12345;
	int bad = 0;

	for (int round = 0; round < 40; round++) {
		size_t n = 1 + (size_t)(round * 25) % 997;

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* half the rounds with many ties */
			sorted[i] = round % 2 ? (double)(x >> 16) : (double)((x >> 16) % 7);
		}
		memcpy(work, sorted, n * sizeof(double));
		tct_summarise(sorted, n, &(struct tct_summary){ 0 });
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			bad += quantile_select(work, n, qs[k]) != quantile_sorted(sorted, n, qs[k]);
		}
	}
	ASSERT_EQ(bad, 0, "selected = sorted quantile");
}

static void test_trace_select_and_scale(void)
{
	const char *path = tmp_path("sel.tsv");
	struct trace_select sel;
	struct trace tr;
	char err[256], out[128];

	ASSERT_OK(trace_scale_work("/d.php/?n=100", 0.5, out, sizeof(out)), "scale");
	ASSERT_STREQ(out, "/d.php/?n=50", "halved");
	ASSERT_OK(trace_scale_work("/d?a=1&n=3&b=2", 2, out, sizeof(out)), "scale middle");
	ASSERT_STREQ(out, "/d?a=1&n=6&b=2", "other parameters kept");
	ASSERT_OK(trace_scale_work("/static/a.html", 3, out, sizeof(out)), "no n");
	ASSERT_STREQ(out, "/static/a.html", "unchanged");
	ASSERT_NEAR(trace_query_n("/x?n=42"), 42, 0, "query n");
	ASSERT_NEAR(trace_query_n("/x?m=42"), -1, 0, "no n");

	write_file(path, "time\tquery\n0.5\t/a?n=10\n1.0\t/b?n=20\n2.0\t/c?n=30\n3.0\t/d?n=40\n");
	trace_select_default(&sel);
	sel.start = 1.0;
	sel.duration = 1.0;
	sel.rate_scale = 2;
	sel.work_scale = 10;
	if (!ASSERT_OK(trace_load(path, &sel, &tr, err, sizeof(err)), err))
		return;
	/* start 1.0 keeps b, c, d at 0, 1, 2 s; rate x2 makes them 0, 0.5, 1.0; 1 s keeps b, c */
	ASSERT_EQ(tr.count, 2, "selected");
	if (tr.count == 2) {
		ASSERT_NEAR(tr.entries[1].time, 0.5, 1e-12, "rate scaled");
		ASSERT_STREQ(tr.entries[0].query, "/b?n=200", "work scaled");
	}
	trace_free(&tr);
}

static void test_trace_malformed_lines(void)
{
	static const struct {
		const char *text, *where, *why;
	} cases[] = {
		{ "time query\n1\t/a\n", ":1:", "header" },
		{ "time\tquery\n0.1\t/a\n0.2 /b\n", ":3:", "TAB" },
		{ "time\tquery\n0.1\t/a\nabc\t/b\n", ":3:", "not a non-negative number" },
		{ "time\tquery\n0.1\t/a\n-1\t/b\n", ":3:", "not a non-negative number" },
		{ "time\tquery\n0.5\t/a\n0.2\t/b\n", ":3:", "before the previous" },
		{ "time\tquery\n0.1\tnoslash\n", ":2:", "start with '/'" },
		{ "time\tquery\n0.1\t/a b\n", ":2:", "no spaces" },
		{ "time\tquery\n0.1\t/a\n\n0.3\t/c\n", ":3:", "TAB" },
		{ "time\tquery\n0.1\t/a?n=x1\n", ":2:", "n=" },
		{ "", "empty", "header" },
	};
	const char *path = tmp_path("bad.tsv");
	struct trace_select sel;
	struct trace tr;
	char err[256];

	trace_select_default(&sel);
	sel.work_scale = 2;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(path, cases[i].text);
		err[0] = '\0';
		if (!ASSERT_ERR(trace_load(path, &sel, &tr, err, sizeof(err)), cases[i].text))
			trace_free(&tr);
		ASSERT_TRUE(strstr(err, cases[i].where), err);
		ASSERT_TRUE(strstr(err, cases[i].why), err);
		ASSERT_EQ(tr.count, 0, "nothing kept");
	}
}

/* The binary reports the first malformed line and sends nothing. */
static void test_replay_rejects_malformed_trace(void)
{
	const char *path = tmp_path("bad2.tsv"), *errp = tmp_path("bad2.err");
	struct testsrv s = { 0 };
	char *err;
	int rc;

	if (!ASSERT_OK(testsrv_start(&s, "-w 2"), "start testsrv"))
		return;
	write_file(path, "time\tquery\n0.01\t/a\n0.02\t/b\n0.03\n0.04\t/d\n");
	rc = run("marllb-replay -q %s http://127.0.0.1:%d >/dev/null 2>%s", path, s.port, errp);
	ASSERT_EQ(rc, 1, "exit status");
	err = read_file(errp);
	ASSERT_TRUE(strstr(err, "bad2.tsv:4:"), err);
	free(err);
	ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
	err = read_file(s.log);
	ASSERT_TRUE(strstr(err, "served 0 requests"), err);
	free(err);
}

/* Bad command lines: the exit status and the first line on stderr, word for word. */
static void test_usage_errors(void)
{
	static const struct {
		const char *args;
		int status;
		const char *message;
	} cases[] = {
		{ "marllb-replay -q --rate-scale 0 t.tsv http://127.0.0.1:1", 2,
		  "replay: --rate-scale '0': expected a number in [1e-06, 1e+06]" },
		{ "marllb-replay -q t.tsv http://example.org", 2,
		  "replay: target 'http://example.org': Name or service not known" },
		{ "marllb-replay -q t.tsv http://127.0.0.1/x", 2,
		  "replay: target 'http://127.0.0.1/x': expected http://ADDR[:PORT] with a numeric "
		  "address and no path" },
		{ "marllb-replay t.tsv", 2,
		  "replay: expected TRACE and http://ADDR[:PORT] (see --help)" },
		{ "marllb-replay --bogus t.tsv http://127.0.0.1:1", 2,
		  "marllb-replay: unrecognized option '--bogus'" },
		{ "marllb-testsrv --workers 0", 2,
		  "testsrv: --workers '0': expected a number in [1, 100000]" },
		{ "marllb-testsrv --queue-max 1.5", 2,
		  "testsrv: --queue-max '1.5': expected an integer" },
		{ "marllb-replay --max-inflight 2.5 t.tsv http://127.0.0.1:1", 2,
		  "replay: --max-inflight '2.5': expected an integer" },
		{ "marllb-testsrv --mode fast", 2,
		  "testsrv: --mode 'fast': expected sleep or cpu" },
		{ "marllb-testsrv extra", 2, "testsrv: unexpected argument 'extra' (see --help)" },
		{ "marllb-testsrv -l 127.0.0.1", 1,
		  "testsrv: --listen '127.0.0.1': expected ADDR:PORT or [ADDR]:PORT" },
		{ "marllb-tracegen --work pareto", 2,
		  "tracegen: --work 'pareto': expected exp, lognormal or const" },
		{ "marllb-tracegen --sigma 11", 2,
		  "tracegen: --sigma '11': expected a number in [0, 10]" },
		{ "marllb-tracegen extra", 2,
		  "tracegen: unexpected argument 'extra' (see --help)" },
	};
	const char *errp = tmp_path("usage.err");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err, *eol;

		ASSERT_EQ(run("exec %s >/dev/null 2>%s", cases[i].args, errp), cases[i].status,
			  cases[i].args);
		err = read_file(errp);
		eol = strchr(err, '\n');
		if (eol)
			*eol = '\0';
		ASSERT_STREQ(err, cases[i].message, cases[i].args);
		free(err);
	}
}

static void test_testsrv_answers(void)
{
	static const char get[] = "GET /x?bytes=2000 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct testsrv s = { 0 };
	char resp[8192];

	if (!ASSERT_OK(testsrv_start(&s, "-w 2 --service-ms 1"), "start testsrv"))
		return;
	if (ASSERT_OK(exchange(s.port, get, resp, sizeof(resp)), "GET")) {
		ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 200 OK\r\n", 17), resp);
		ASSERT_TRUE(strstr(resp, "Content-Length: 2000\r\n"), "length header");
		ASSERT_EQ(strlen(strstr(resp, "\r\n\r\n") + 4), 2000, "padded body");
		ASSERT_TRUE(strstr(resp, "seq=0 worker="), "body names the request");
	}
	if (ASSERT_OK(exchange(s.port, "POST / HTTP/1.1\r\n\r\n", resp, sizeof(resp)), "POST"))
		ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 405", 12), resp);
	if (ASSERT_OK(exchange(s.port, "nonsense\r\n\r\n", resp, sizeof(resp)), "nonsense"))
		ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 400", 12), resp);
	ASSERT_EQ(testsrv_stop(&s), 0, "clean exit on SIGTERM");
}

static int count_substr(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Two requests on one connection: answered both with --keep-alive, only the first without. */
static void test_testsrv_keep_alive(void)
{
	static const char two[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
				  "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct testsrv s = { 0 };
	char resp[8192];

	for (int keep = 0; keep < 2; keep++) {
		if (!ASSERT_OK(testsrv_start(&s, keep ? "-w 1 -k" : "-w 1"), "start testsrv"))
			return;
		if (ASSERT_OK(exchange(s.port, two, resp, sizeof(resp)), "two requests")) {
			ASSERT_EQ(count_substr(resp, "HTTP/1.1 200 OK"), keep ? 2 : 1, "responses");
			ASSERT_EQ(count_substr(resp, "Connection: keep-alive"), keep, "kept alive");
		}
		ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
	}
}

/* One worker: requests are served one after another, in arrival order. */
static void test_testsrv_one_worker_serial_fcfs(void)
{
	struct served sv[6];
	struct testsrv s = { 0 };
	int n = 6;

	if (!ASSERT_OK(testsrv_start(&s, "-w 1 --service-ms 40"), "start testsrv"))
		return;
	ASSERT_EQ(burst(s.port, "/work", n, sv), n, "all answered");
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(sv[i].seq, i, "accept order");
		ASSERT_EQ(sv[i].worker, 0, "the one worker");
		if (i)
			ASSERT_GE(sv[i].start, sv[i - 1].end, "no overlap: starts after previous end");
	}
	ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
}

/* Two workers: never more than two in service at once, and both used. */
static void test_testsrv_two_workers_bound(void)
{
	struct served sv[6];
	struct testsrv s = { 0 };
	int n = 6, used[2] = { 0 }, peak = 0;

	if (!ASSERT_OK(testsrv_start(&s, "-w 2"), "start testsrv"))
		return;
	ASSERT_EQ(burst(s.port, "/work?ms=150", n, sv), n, "all answered");
	for (int i = 0; i < n; i++) {
		int inside = 0;

		for (int j = 0; j < n; j++)
			inside += sv[j].start <= sv[i].start && sv[i].start < sv[j].end;
		peak = inside > peak ? inside : peak;
		if (sv[i].worker >= 0 && sv[i].worker < 2)
			used[sv[i].worker]++;
	}
	ASSERT_LE(peak, 2, "at most two in service");
	ASSERT_EQ(used[0] + used[1], n, "worker ids in range");
	ASSERT_GT(used[0], 0, "worker 0 used");
	ASSERT_GT(used[1], 0, "worker 1 used");
	ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
}

/*
 * An IO wait (?wait_ms=) is the same on a fast server: not divided by --speed, and in cpu
 * mode it costs no CPU, unlike ?ms=.
 */
static void test_testsrv_wait_is_io(void)
{
	struct served sv[1];
	struct testsrv s = { 0 };
	struct timespec c0, c1;
	struct rusage r0, r1;
	int st;

	getrusage(RUSAGE_CHILDREN, &r0); /* children reaped so far: earlier tests' */
	if (!ASSERT_OK(testsrv_start(&s, "-w 1 --speed 4 --mode cpu"), "start testsrv"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &c0);
	ASSERT_EQ(burst(s.port, "/io.php/?wait_ms=200", 1, sv), 1, "answered");
	clock_gettime(CLOCK_MONOTONIC, &c1);
	/* the service interval covers the whole wait: 200 ms, not 200 / 4 */
	ASSERT_GE(sv[0].end - sv[0].start, 195000, "wait not divided by --speed");
	ASSERT_GE((c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) / 1e6, 195,
		  "client waited");
	st = testsrv_stop(&s);
	ASSERT_EQ(st, 0, "testsrv exit");
	/* its CPU time, well under the 200 ms a busy wait would use */
	getrusage(RUSAGE_CHILDREN, &r1);
	ASSERT_LT((r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1e3 +
			  (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e3,
		  100, "no CPU burnt for the wait");
}

/* SIGTERM during service: the request in service is still answered. */
static void test_testsrv_sigterm_finishes_request(void)
{
	struct testsrv s = { 0 };
	char resp[4096];
	int fd;

	if (!ASSERT_OK(testsrv_start(&s, "-w 1"), "start testsrv"))
		return;
	fd = connect_local(s.port);
	if (!ASSERT_TRUE(fd >= 0, "connect")) {
		testsrv_stop(&s);
		return;
	}
	send(fd, "GET /?ms=500 HTTP/1.1\r\n\r\n", 25, 0);
	usleep(200000); /* generous: the request is in service well before SIGTERM */
	ASSERT_EQ(testsrv_stop(&s), 0, "exit status");
	read_all(fd, resp, sizeof(resp));
	ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 200", 12), "answered before exit");
	close(fd);
}

static void test_tracegen_format_and_seed(void)
{
	const char *a = tmp_path("g1.tsv"), *b = tmp_path("g2.tsv"), *c = tmp_path("g3.tsv");
	struct trace_select sel;
	struct trace tr;
	char err[256], *ta, *tb, *tc;
	double sum_n = 0;

	ASSERT_EQ(run("marllb-tracegen -r 100 -d 20 -n 1000 -S 5 -o %s", a), 0, "gen a");
	ASSERT_EQ(run("marllb-tracegen -r 100 -d 20 -n 1000 -S 5 > %s", b), 0, "gen b stdout");
	ASSERT_EQ(run("marllb-tracegen -r 100 -d 20 -n 1000 -S 6 -o %s", c), 0, "gen c");
	ta = read_file(a);
	tb = read_file(b);
	tc = read_file(c);
	ASSERT_STREQ(ta, tb, "same seed, same trace");
	ASSERT_TRUE(strcmp(ta, tc), "other seed, other trace");
	free(ta);
	free(tb);
	free(tc);
	trace_select_default(&sel);
	if (!ASSERT_OK(trace_load(a, &sel, &tr, err, sizeof(err)), err))
		return;
	/* 2000 expected arrivals: Poisson sd 45, so +-20% cannot fail by chance */
	ASSERT_GT(tr.count, 1600, "arrivals");
	ASSERT_LT(tr.count, 2400, "arrivals");
	for (size_t i = 0; i < tr.count; i++)
		sum_n += trace_query_n(tr.entries[i].query);
	ASSERT_NEAR(sum_n / (double)tr.count, 1000, 200, "mean n");
	ASSERT_LT(tr.entries[tr.count - 1].time, 20, "within duration");
	trace_free(&tr);
}

/*
 * A mix: about the asked share of IO-bound lines, at the same arrival times and with the
 * same CPU-bound work as the CPU-only trace of that seed; a longer trace starts the same.
 */
static void test_tracegen_io_mix_and_prefix(void)
{
	const char *cpu = tmp_path("m0.tsv"), *mix = tmp_path("m1.tsv"), *lng = tmp_path("m2.tsv");
	struct trace_select sel;
	struct trace a, b;
	char err[256], *ta, *tl;
	size_t io = 0, same_n = 0, cpu_lines = 0;
	double sum_wait = 0;

	ASSERT_EQ(run("marllb-tracegen -r 200 -d 10 -S 9 -o %s", cpu), 0, "gen cpu");
	ASSERT_EQ(run("marllb-tracegen -r 200 -d 10 -S 9 --io-share 0.3 --io-mean-ms 50 -o %s",
		      mix),
		  0, "gen mix");
	ASSERT_EQ(run("marllb-tracegen -r 200 -d 25 -S 9 -o %s", lng), 0, "gen longer");
	ASSERT_NEQ(run("marllb-tracegen --io-share 1.5 >/dev/null 2>&1"), 0, "share > 1");
	trace_select_default(&sel);
	if (!ASSERT_OK(trace_load(cpu, &sel, &a, err, sizeof(err)), err))
		return;
	if (!ASSERT_OK(trace_load(mix, &sel, &b, err, sizeof(err)), err)) {
		trace_free(&a);
		return;
	}
	if (ASSERT_EQ(b.count, a.count, "same arrivals")) {
		for (size_t i = 0; i < a.count; i++) {
			const char *w = strstr(b.entries[i].query, "?wait_ms=");

			ASSERT_TRUE(a.entries[i].time == b.entries[i].time, "same arrival time");
			if (w && !strncmp(b.entries[i].query, "/io.php/?", 9)) {
				io++;
				sum_wait += atof(w + 9);
			} else {
				cpu_lines++;
				same_n += !strcmp(a.entries[i].query, b.entries[i].query);
			}
		}
		/* 2000 lines, share 0.3: sd 20 lines, so +-150 cannot fail by chance */
		ASSERT_NEAR(io, 0.3 * a.count, 150, "IO share");
		ASSERT_NEAR(sum_wait / (io ? io : 1), 50, 10, "mean wait");
		ASSERT_EQ(same_n, cpu_lines, "CPU-bound lines keep their work");
	}
	trace_free(&a);
	trace_free(&b);
	ta = read_file(cpu);
	tl = read_file(lng);
	ASSERT_TRUE(strlen(ta) > 100 && !strncmp(ta, tl, strlen(ta)),
		    "a longer trace starts the same");
	free(ta);
	free(tl);
}

/* Every request of a generated trace completes; the summary and CSV agree with the server. */
static void test_replay_completes_trace(void)
{
	const char *trace = tmp_path("ok.tsv"), *csv = tmp_path("ok.csv");
	struct testsrv s = { 0 };
	struct trace_select sel;
	struct trace tr;
	char err[256], *summary, *log, *rows, served[64];
	size_t lines = 0, ok_rows = 0;

	if (!ASSERT_EQ(run("marllb-tracegen -r 300 -d 2 -n 20000 -S 3 -o %s", trace), 0, "gen"))
		return;
	trace_select_default(&sel);
	if (!ASSERT_OK(trace_load(trace, &sel, &tr, err, sizeof(err)), err))
		return;
	/* 20000 iterations at 1e7/s: 2 ms each, 600 req/s-ms on 8 workers: lightly loaded */
	if (!ASSERT_OK(testsrv_start(&s, "-w 8 --iter-rate 1e7"), "start testsrv"))
		goto out;
	summary = replay_summary("-t 10 -o %s %s http://127.0.0.1:%d", csv, trace, s.port);
	ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
	ASSERT_EQ(summary_get(summary, "requests"), tr.count, "requests = trace lines");
	ASSERT_EQ(summary_get(summary, "ok"), tr.count, "all ok");
	ASSERT_EQ(summary_get(summary, "failed"), 0, "no failure");
	ASSERT_GT(summary_get(summary, "p50_s"), 0, "p50 measured");
	ASSERT_LE(summary_get(summary, "p50_s"), summary_get(summary, "p99_s"), "p50 <= p99");
	ASSERT_LE(summary_get(summary, "p99_s"), summary_get(summary, "max_s"), "p99 <= max");
	ASSERT_GT(summary_get(summary, "bytes"), 0, "bytes counted");
	log = read_file(s.log);
	snprintf(served, sizeof(served), "served %zu requests", tr.count);
	ASSERT_TRUE(strstr(log, served), log);
	rows = read_file(csv);
	for (char *p = rows; (p = strchr(p, '\n')); p++) {
		lines++;
		ok_rows += !strncmp(p - strlen(",ok,1,/dummy.php/"), ",ok,1,/dummy.php/",
				    strlen(",ok,1,/dummy.php/"));
	}
	ASSERT_EQ(lines, tr.count + 1, "CSV rows + header");
	ASSERT_EQ(ok_rows, tr.count, "CSV rows ok, measured, with their path");
	free(rows);
	free(log);
	free(summary);
out:
	trace_free(&tr);
}

/*
 * --warmup: the first seconds' requests are sent (the server serves them) but the summary
 * counts only the rest, and the CSV marks them.
 */
static void test_replay_warmup_left_out(void)
{
	const char *trace = tmp_path("wu.tsv"), *csv = tmp_path("wu.csv");
	struct testsrv s = { 0 };
	char *summary, *log, *rows, served[64];
	size_t warm = 0, meas = 0;

	write_file(trace, "time\tquery\n0\t/a\n0.1\t/b\n0.2\t/c\n0.3\t/d\n0.4\t/e\n");
	if (!ASSERT_OK(testsrv_start(&s, "-w 2"), "start testsrv"))
		return;
	summary = replay_summary("-W 0.25 -o %s %s http://127.0.0.1:%d", csv, trace, s.port);
	ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
	ASSERT_EQ(summary_get(summary, "requests"), 2, "measured requests");
	ASSERT_EQ(summary_get(summary, "ok"), 2, "measured ok");
	ASSERT_EQ(summary_get(summary, "warmup"), 3, "warm-up requests");
	log = read_file(s.log);
	snprintf(served, sizeof(served), "served %d requests", 5);
	ASSERT_TRUE(strstr(log, served), log);
	rows = read_file(csv);
	for (char *p = rows; (p = strchr(p, '\n')); p++) {
		warm += !strncmp(p - 5, ",0,/", 4);
		meas += !strncmp(p - 5, ",1,/", 4);
	}
	ASSERT_EQ(warm, 3, "CSV warm-up rows");
	ASSERT_EQ(meas, 2, "CSV measured rows");
	free(rows);
	free(log);
	free(summary);
}

/* A server that accepts connections but never answers: every request times out. */
static void test_replay_timeout_is_failure(void)
{
	const char *trace = tmp_path("to.tsv");
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	char *summary;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 64), "listen"))
		goto out;
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	write_file(trace, "time\tquery\n0.0\t/a\n0.05\t/b\n0.1\t/c\n");
	summary = replay_summary("-t 0.4 %s http://127.0.0.1:%d", trace, ntohs(sa.sin_port));
	ASSERT_EQ(summary_get(summary, "requests"), 3, "requests");
	ASSERT_EQ(summary_get(summary, "ok"), 0, "none ok");
	ASSERT_EQ(summary_get(summary, "failed"), 3, "all failed");
	ASSERT_EQ(summary_get(summary, "failed_timeout"), 3, "as timeouts");
	free(summary);
	/* Now nobody listens: refused connects are failures too. */
	close(lfd);
	lfd = -1;
	summary = replay_summary("-t 2 %s http://127.0.0.1:%d", trace, ntohs(sa.sin_port));
	ASSERT_EQ(summary_get(summary, "failed_connect"), 3, "refused");
	ASSERT_EQ(summary_get(summary, "ok"), 0, "none ok");
	free(summary);
out:
	if (lfd >= 0)
		close(lfd);
}

/* Thousands of requests open at once: all complete, none is refused by the client. */
static void test_replay_thousands_concurrent(void)
{
	const char *trace = tmp_path("burst.tsv");
	struct testsrv s = { 0 };
	char *summary;
	FILE *f = fopen(trace, "w");
	int n = 3000;

	if (!ASSERT_OK_PTR(f, "trace"))
		return;
	fprintf(f, "time\tquery\n");
	for (int i = 0; i < n; i++) /* 3000 arrivals in 0.1 s */
		fprintf(f, "%.6f\t/burst?ms=2\n", i * 0.1 / n);
	fclose(f);
	/* 4 workers of 2 ms: 2000 requests/s, so most of the burst waits, open, at once */
	if (!ASSERT_OK(testsrv_start(&s, "-w 4"), "start testsrv"))
		return;
	summary = replay_summary("-t 30 %s http://127.0.0.1:%d", trace, s.port);
	ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
	ASSERT_EQ(summary_get(summary, "ok"), n, "all ok");
	ASSERT_EQ(summary_get(summary, "failed"), 0, "none failed");
	ASSERT_GE(summary_get(summary, "peak_open"), 1000, "thousands open at once");
	free(summary);
}

/* IPv6: the server listens on [::1], the replay reaches it. */
static void test_ipv6_loopback(void)
{
	const char *trace = tmp_path("v6.tsv");
	struct testsrv s = { 0 };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	char *summary;

	if (fd < 0) {
		test_skip("no IPv6 sockets");
		return;
	}
	close(fd);
	write_file(trace, "time\tquery\n0\t/a\n0.01\t/b?ms=1\n0.02\t/c?n=10\n");
	if (!ASSERT_OK(testsrv_start(&s, "-l [::1]:0"), "start testsrv on [::1]"))
		return;
	summary = replay_summary("%s http://[::1]:%d", trace, s.port);
	ASSERT_EQ(testsrv_stop(&s), 0, "testsrv exit");
	ASSERT_EQ(summary_get(summary, "ok"), 3, "all ok over IPv6");
	free(summary);
}

static const struct test_case tests[] = {
	TEST(http_query),
	TEST(quantiles),
	TEST(quantile_select),
	TEST(trace_select_and_scale),
	TEST(trace_malformed_lines),
	TEST(replay_rejects_malformed_trace),
	TEST(usage_errors),
	TEST(testsrv_answers),
	TEST(testsrv_one_worker_serial_fcfs),
	TEST(testsrv_two_workers_bound),
	TEST(testsrv_sigterm_finishes_request),
	TEST(testsrv_wait_is_io),
	TEST(testsrv_keep_alive),
	TEST(tracegen_format_and_seed),
	TEST(tracegen_io_mix_and_prefix),
	TEST(replay_completes_trace),
	TEST(replay_warmup_left_out),
	TEST(replay_timeout_is_failure),
	TEST(replay_thousands_concurrent),
	TEST(ipv6_loopback),
	{},
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return test_dir_main(argc, argv, tests, tmpdir);
}
