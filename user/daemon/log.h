/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging for marllbd and marllbctl, in the style of xdp-tools: pr_warn/pr_info/pr_debug to
 * stderr, the level raised by -v. libbpf's and libxdp's own output is demoted two levels so
 * their chatter shows only with -v (warnings), -vv (information) and -vvv (debug).
 */
#ifndef MARLLBD_LOG_H
#define MARLLBD_LOG_H

enum log_level {
	LOG_WARN = 0,
	LOG_INFO = 1,
	LOG_DEBUG = 2,
	LOG_TRACE = 3, /* libbpf's information */
	LOG_TRACE2 = 4, /* libbpf's debug output */
};

extern enum log_level log_level;

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Routes libbpf and libxdp messages through log_msg(), one level lower than they ask. */
void log_hook_libraries(void);

#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* MARLLBD_LOG_H */
