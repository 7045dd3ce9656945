/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This host as seen from marllbd's network namespace: its own addresses and its listening TCP
 * sockets, so that a VIP cannot take over the LB's own traffic (its address, sshd on port 22)
 * and a backend cannot be the LB itself.
 */
#ifndef MARLLBD_LOCAL_H
#define MARLLBD_LOCAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"

/*
 * Is a an address of an interface here? Returns 1 with the interface's name and the address's
 * prefix length, 0 when not, or a negative errno.
 */
int local_addr_find(const struct inet_addr *a, char ifname[IF_NAMESIZE], int *prefix_len);

/* Does a TCP socket here listen on a:port, or on a wildcard address that covers it? */
bool local_tcp_listening(const struct inet_addr *a, uint16_t port);

#endif /* MARLLBD_LOCAL_H */
