/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace files: tab-separated, header line "time<TAB>query", then one request per line:
 * its arrival offset in seconds (non-decreasing) and the request target (starting with '/',
 * no spaces or control characters), for example
 *
 *	time	query
 *	0.1151	/dummy.php/?n=5478122
 *
 * The trace's work parameter is the query's n=<iterations>.
 */
#ifndef MARLLB_TRACE_H
#define MARLLB_TRACE_H

#include <stddef.h>
#include <stdio.h>

#define TRACE_HEADER "time\tquery"
#define TRACE_MAX_QUERY 2048

struct trace_entry {
	double time;	/* seconds from the start of the replay */
	char *query;
};

struct trace {
	struct trace_entry *entries;
	size_t count;
};

/* Which part of a trace to load and how to reshape it (all applied while loading). */
struct trace_select {
	double start;		/* skip arrivals before this offset (s), then shift to 0 */
	double duration;	/* keep arrivals within this many seconds (after rate scaling); <= 0: all */
	double rate_scale;	/* divide inter-arrival times by this (2 = twice the rate) */
	double work_scale;	/* multiply each query's n= by this */
};

void trace_select_default(struct trace_select *sel);

/*
 * Loads path ("-" for stdin). On a malformed line, returns -1 with a message in err naming
 * the file and line, and leaves *tr empty.
 */
int trace_load(const char *path, const struct trace_select *sel, struct trace *tr, char *err,
	       size_t err_len);
void trace_free(struct trace *tr);

/* Rewrites n=<v> in query to round(v * scale); copies query unchanged when it has no n=. */
int trace_scale_work(const char *query, double scale, char *out, size_t out_len);

/* The query's n= value, or -1 when it has none. */
double trace_query_n(const char *query);

#endif /* MARLLB_TRACE_H */
