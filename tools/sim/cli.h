/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line handling shared by the simulator's subcommands. */
#ifndef MARLLB_SIM_CLI_H
#define MARLLB_SIM_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/scenario.h"
#include "sim/sim.h"

/* Prints "marllb-sim: <message>" and returns -1 from an option handler. */
#define CLI_BAD(...)                                         \
	do {                                                 \
		fprintf(stderr, "marllb-sim: " __VA_ARGS__); \
		fputc('\n', stderr);                         \
		return -1;                                   \
	} while (0)

/* Options every subcommand takes (the model); values from 1000 up. */
extern const struct option cli_model_options[];
extern const char cli_model_help[];

struct cli_model {
	struct sim_config cfg;
	bool workers_set, weights_set, misconfig;
	/* --cpu-mean/--io-mean win over --mix, whatever the order (cli_model_finish) */
	bool cpu_mean_set, io_mean_set;
	double cpu_mean, io_mean;
	const char *mix; /* --mix, or NULL */
	uint64_t given; /* bit i: cli_model_options[i] was on the command line */
	double list_buf[SIM_MAX_SERVERS];
	double workers_list[SIM_MAX_SERVERS], speeds_list[SIM_MAX_SERVERS],
		weights_list[SIM_MAX_SERVERS], io_speeds_list[SIM_MAX_SERVERS];
	int workers_len, speeds_len, weights_len, io_speeds_len;
};

void cli_model_init(struct cli_model *m);
/* Handles one model option; returns 0, 1 when opt is not a model option, -1 on bad input
 * (after printing why). */
int cli_model_option(struct cli_model *m, int opt, const char *arg);
/* Fills derived values (worker split, weights); returns -1 on a bad combination. */
int cli_model_finish(struct cli_model *m);
/* Sets cfg's mean work to the named mix, then applies --cpu-mean/--io-mean over it
 * (explicit options win), and the static weights that follow (capacity, --weights,
 * --misconfig). Returns -1 for an unknown mix. */
int cli_model_mix(const struct cli_model *m, const char *mix, struct sim_config *cfg);

/* Whether the model option of that name (without "--") was on the command line. */
bool cli_model_given(const struct cli_model *m, const char *name);
/* The first model option given that is not in allowed (NULL-terminated names), or NULL:
 * for commands where some model options mean nothing (the system comes from elsewhere). */
const char *cli_model_unused(const struct cli_model *m, const char *const *allowed);

/* Builds the getopt table: the command's own options followed by the model options. */
struct option *cli_options(const struct option *own);
/* The getopt table of two option lists (one static table: call once per command). */
struct option *cli_options_join(const struct option *a, const struct option *b);

int parse_int(const char *s, long lo, long hi, long *out);
int parse_double(const char *s, double lo, double hi, double *out);
/* "1,2.5,3" into at most max values; returns the count, or -1. */
int parse_list(const char *s, double *out, int max);

/* Mix names: "100" (CPU only), "75" (75% CPU, 25% IO), "50". */
int mix_parse(const char *name, double *cpu_mean, double *io_mean);

/* The pools of compare and run --pool (scenario.h): options from 3000. */
extern const struct option cli_pool_options[];
extern const char cli_pool_help[];
/* Handles one pool option; returns 0, 1 when opt is not one, -1 on bad input (printed). */
int cli_pool_option(struct scenario_params *p, int opt, const char *arg);
/* "NxM": N servers, M LBs. */
int parse_pool(const char *s, int *servers, int *lbs);
/* Whether the pools are two classes (scenario_two_classes): unless --workers/--speeds. */
bool cli_model_two_classes(const struct cli_model *m);
/*
 * A pool of N servers and M LBs from the model options: m finished with them, its mean
 * work set to mix (NULL: m's own), two classes of p unless --workers/--speeds gave the
 * servers. Returns -1 after printing why.
 */
int cli_model_pool(const struct cli_model *m, int servers, int lbs, const char *mix,
		   const struct scenario_params *p, struct sim_config *cfg);

#endif /* MARLLB_SIM_CLI_H */
