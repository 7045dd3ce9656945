/* SPDX-License-Identifier: GPL-2.0 */
/* Pending events in a 4-ary min-heap on time: O(log n) push and pop, no allocation per event. */
#ifndef MARLLB_SIM_EVHEAP_H
#define MARLLB_SIM_EVHEAP_H

#include <stdint.h>

enum event_kind {
	EV_ARRIVAL,	/* next task of the stream */
	EV_CPU_DONE,	/* FCFS: a = task, b = gen */
	EV_RESPONSE,	/* FCFS: first response, a = task, b = gen */
	EV_PS,		/* next mark of a PS station: a = station, b = gen */
	EV_FLOW_END,	/* a rejected flow times out at its LB: a = lb, b = server */
	EV_STEP,	/* control step */
	EV_CHANGE,	/* capacity change: a = index in cfg.changes */
};

struct event {
	double t;
	uint32_t kind;
	uint32_t a, b;
};

struct evheap {
	struct event *e;
	int len, cap;
};

int evheap_init(struct evheap *h, int cap);
void evheap_free(struct evheap *h);
/* Returns 0 or -ENOMEM (the heap grows by doubling). */
int evheap_push(struct evheap *h, struct event ev);
/* Caller checks len > 0. */
struct event evheap_pop(struct evheap *h);

#endif /* MARLLB_SIM_EVHEAP_H */
