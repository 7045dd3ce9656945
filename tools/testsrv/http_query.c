// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http_query.h"

/* Value of one parameter: its text runs up to the next '&', '#' or the end. */
static int parse_value(const char *val, size_t len, double max, double *out)
{
	char tmp[32], *end;
	double v;

	if (!len || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, val, len);
	tmp[len] = '\0';
	errno = 0;
	v = strtod(tmp, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int http_query_parse(const char *target, struct http_query *out)
{
	const char *p = strchr(target, '?');

	memset(out, 0, sizeof(*out));
	if (!p)
		return 0;
	for (p++; *p && *p != '#';) {
		size_t len = strcspn(p, "&#");
		const char *eq = memchr(p, '=', len);
		double v;

		if (eq) {
			size_t klen = (size_t)(eq - p), vlen = len - klen - 1;

			if (klen == 2 && !memcmp(p, "ms", 2)) {
				if (parse_value(eq + 1, vlen, 3.6e6, &out->ms))
					return -1;
				out->has_ms = true;
			} else if (klen == 7 && !memcmp(p, "wait_ms", 7)) {
				if (parse_value(eq + 1, vlen, 3.6e6, &out->wait_ms))
					return -1;
			} else if (klen == 1 && *p == 'n') {
				if (parse_value(eq + 1, vlen, 1e12, &v) || v != floor(v))
					return -1;
				out->n = (uint64_t)v;
				out->has_n = true;
			} else if (klen == 5 && !memcmp(p, "bytes", 5)) {
				if (parse_value(eq + 1, vlen, HTTP_QUERY_MAX_BYTES, &v) ||
				    v != floor(v))
					return -1;
				out->bytes = (size_t)v;
			}
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}
