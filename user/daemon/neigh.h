/* SPDX-License-Identifier: GPL-2.0 */
/* Backend MAC addresses from the kernel's neighbour table (rtnetlink through libnl). */
#ifndef MARLLBD_NEIGH_H
#define MARLLBD_NEIGH_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"

/*
 * Looks addr up in the neighbour table, preferring entries on ifindex. When it is missing,
 * sends one UDP datagram to the discard port to make the kernel resolve it, and looks again
 * for up to wait_ms. Returns 0 with mac set, or a negative errno with a sentence in err.
 */
int neigh_resolve(const struct inet_addr *addr, int ifindex, int wait_ms, uint8_t mac[6], char *err,
		  size_t err_len);

#endif /* MARLLBD_NEIGH_H */
