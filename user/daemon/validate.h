/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that can be wrong with a configuration, found before anything is touched: the
 * file itself (config.c), its addresses against this host's own (local.c), and the backends'
 * MACs (the neighbour table). Start-up, --check-config and SIGHUP run exactly this.
 */
#ifndef MARLLBD_VALIDATE_H
#define MARLLBD_VALIDATE_H

#include <stddef.h>

#include "daemon/config.h"

/*
 * Loads path into *conf and checks it against this host (ifindex: the interface balanced
 * on; its neighbours give missing MACs). On error returns a negative errno with
 * "file:line: sentence" in err and leaves *conf empty.
 */
int conf_prepare(const char *path, int ifindex, struct lb_conf *conf, char *err, size_t err_len);

/* The host part alone: no VIP takes the LB's own traffic, no backend is the LB. */
int conf_check_local(const char *path, const struct lb_conf *conf, char *err, size_t err_len);

#endif /* MARLLBD_VALIDATE_H */
