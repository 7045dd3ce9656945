/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The query parameters marllb-testsrv understands in a request target:
 *   ms=M (service time in milliseconds), n=N (loop iterations, as the trace's PHP page),
 *   wait_ms=W (an IO wait in milliseconds, as a page waiting on a database: the same on
 *   every server), bytes=B (body size). Other parameters are ignored, as a web page would.
 */
#ifndef MARLLB_TESTSRV_HTTP_QUERY_H
#define MARLLB_TESTSRV_HTTP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_QUERY_MAX_BYTES (16u << 20)

struct http_query {
	bool has_ms, has_n;
	double ms;
	double wait_ms;
	uint64_t n;
	size_t bytes;
};

/* Returns 0, or -1 when a known parameter has a malformed or out-of-range value. */
int http_query_parse(const char *target, struct http_query *out);

#endif /* MARLLB_TESTSRV_HTTP_QUERY_H */
