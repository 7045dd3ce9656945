// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

#include "sim/evheap.h"

int evheap_init(struct evheap *h, int cap)
{
	h->e = malloc(sizeof(*h->e) * cap);
	h->len = 0;
	h->cap = cap;
	return h->e ? 0 : -ENOMEM;
}

void evheap_free(struct evheap *h)
{
	free(h->e);
	h->e = NULL;
	h->len = h->cap = 0;
}

int evheap_push(struct evheap *h, struct event ev)
{
	int i;

	if (h->len == h->cap) {
		struct event *bigger = realloc(h->e, sizeof(*h->e) * h->cap * 2);

		if (!bigger)
			return -ENOMEM;
		h->e = bigger;
		h->cap *= 2;
	}
	i = h->len++;
	while (i > 0) {
		int parent = (i - 1) / 4;

		if (h->e[parent].t <= ev.t)
			break;
		h->e[i] = h->e[parent];
		i = parent;
	}
	h->e[i] = ev;
	return 0;
}

struct event evheap_pop(struct evheap *h)
{
	struct event top = h->e[0], last = h->e[--h->len];
	int i = 0, n = h->len;

	for (;;) {
		int child = 4 * i + 1, best = -1;
		double best_t = last.t;

		for (int c = child; c < child + 4 && c < n; c++) {
			if (h->e[c].t < best_t) {
				best_t = h->e[c].t;
				best = c;
			}
		}
		if (best < 0)
			break;
		h->e[i] = h->e[best];
		i = best;
	}
	if (n)
		h->e[i] = last;
	return top;
}
