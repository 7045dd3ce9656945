// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

void trace_select_default(struct trace_select *sel)
{
	*sel = (struct trace_select){ .start = 0, .duration = 0, .rate_scale = 1, .work_scale = 1 };
}

void trace_free(struct trace *tr)
{
	for (size_t i = 0; i < tr->count; i++)
		free(tr->entries[i].query);
	free(tr->entries);
	tr->entries = NULL;
	tr->count = 0;
}

/* Where the value of the query's n= parameter starts, or NULL. */
static const char *find_n(const char *query)
{
	const char *p = strchr(query, '?');

	while (p) {
		if (p[1] == 'n' && p[2] == '=')
			return p + 3;
		p = strchr(p + 1, '&');
	}
	return NULL;
}

double trace_query_n(const char *query)
{
	const char *v = find_n(query);
	char *end;
	double n;

	if (!v)
		return -1;
	errno = 0;
	n = strtod(v, &end);
	if (errno || end == v || (*end && *end != '&' && *end != '#') || !isfinite(n) || n < 0)
		return -1;
	return n;
}

int trace_scale_work(const char *query, double scale, char *out, size_t out_len)
{
	const char *v = find_n(query);
	double n;
	int len;

	if (!v) {
		len = snprintf(out, out_len, "%s", query);
	} else {
		n = trace_query_n(query);
		if (n < 0)
			return -1;
		len = snprintf(out, out_len, "%.*s%.0f%s", (int)(v - query), query,
			       round(n * scale), v + strspn(v, "0123456789.eE+-"));
	}
	return len < 0 || (size_t)len >= out_len ? -1 : 0;
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -1;
}

static int check_query(const char *q)
{
	if (q[0] != '/')
		return -1;
	for (const unsigned char *p = (const unsigned char *)q; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return -1;
	return strlen(q) < TRACE_MAX_QUERY ? 0 : -1;
}

int trace_load(const char *path, const struct trace_select *sel, struct trace *tr, char *err,
	       size_t err_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL, scaled[TRACE_MAX_QUERY + 32];
	size_t cap = 0, alloc = 0, lineno = 0;
	double prev = -INFINITY;
	ssize_t len;
	int rc = -1;

	memset(tr, 0, sizeof(*tr));
	if (!f)
		return fail(err, err_len, "%s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *tab, *end;
		double t;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (lineno == 1) {
			if (strcmp(line, TRACE_HEADER)) {
				fail(err, err_len, "%s:1: expected the header 'time<TAB>query'",
				     path);
				goto out;
			}
			continue;
		}
		tab = strchr(line, '\t');
		if (!tab) {
			fail(err, err_len, "%s:%zu: expected 'time<TAB>query', found no TAB", path,
			     lineno);
			goto out;
		}
		*tab = '\0';
		errno = 0;
		t = strtod(line, &end);
		if (errno || end == line || *end || !isfinite(t) || t < 0) {
			fail(err, err_len, "%s:%zu: time '%s' is not a non-negative number", path,
			     lineno, line);
			goto out;
		}
		if (t < prev) {
			fail(err, err_len, "%s:%zu: time %g is before the previous line's %g", path,
			     lineno, t, prev);
			goto out;
		}
		prev = t;
		if (check_query(tab + 1)) {
			fail(err, err_len,
			     "%s:%zu: query must start with '/', have no spaces, TABs or control "
			     "characters, and be shorter than %d bytes",
			     path, lineno, TRACE_MAX_QUERY);
			goto out;
		}
		if (trace_scale_work(tab + 1, sel->work_scale, scaled, sizeof(scaled))) {
			fail(err, err_len, "%s:%zu: n= in '%s' is not a non-negative number", path,
			     lineno, tab + 1);
			goto out;
		}
		if (t < sel->start)
			continue;
		t = (t - sel->start) / sel->rate_scale;
		if (sel->duration > 0 && t >= sel->duration)
			continue; /* keep reading: a malformed line further on is still an error */
		if (tr->count == alloc) {
			size_t n = alloc ? alloc * 2 : 1024;
			struct trace_entry *e = realloc(tr->entries, n * sizeof(*e));

			if (!e) {
				fail(err, err_len, "%s: out of memory", path);
				goto out;
			}
			tr->entries = e;
			alloc = n;
		}
		tr->entries[tr->count].time = t;
		tr->entries[tr->count].query = strdup(scaled);
		if (!tr->entries[tr->count].query) {
			fail(err, err_len, "%s: out of memory", path);
			goto out;
		}
		tr->count++;
	}
	if (ferror(f)) {
		fail(err, err_len, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	if (lineno == 0) {
		fail(err, err_len, "%s: empty file, expected the header 'time<TAB>query'", path);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		trace_free(tr);
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}
