# SPDX-License-Identifier: GPL-2.0
# marllb top-level build. Each part of the tree adds its own rules in a Makefile.inc
# fragment (bpf/, user/, tools/*/, selftests/*/), so the tree reads like the architecture.
#
#   make          build marllb.o, marllbd, marllbctl, tools (installs missing packages first)
#   make check    build and run every test; last line: "N passed, N failed, N skipped"
#   make bench    run the benchmarks (not tests: timings are reported, never asserted)
#   make demo     bring up the testbed, compare policies, tear it down
#   V=1           echo full commands

OUT	:= build
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
ARCH	:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS	:= $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	   -Iinclude -Iuser -I$(OUT) $(OPENBLAS_CFLAGS)
LDLIBS	+= -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I/usr/include/$(shell $(CC) -dumpmachine) -Iinclude -Wall -Wno-unused-function

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Filled by the fragments.
BUILD_TARGETS	:=
TEST_PROGS	:=
BENCH_PROGS	:=

.DELETE_ON_ERROR:
.PHONY: all programs check bench demo deps clean format

all: deps
	$(Q)$(MAKE) --no-print-directory programs

deps:
	$(Q)tools/install-deps.sh

$(OUT):
	$(Q)mkdir -p $@

include $(sort $(wildcard bpf/Makefile.inc user/*/Makefile.inc tools/*/Makefile.inc selftests/*/Makefile.inc))

programs: $(BUILD_TARGETS)

check: deps
	$(Q)$(MAKE) --no-print-directory programs $(TEST_PROGS)
	$(Q)selftests/run_tests.sh $(TEST_PROGS)

bench: deps
	$(Q)$(MAKE) --no-print-directory programs $(BENCH_PROGS)
	$(Q)selftests/run_bench.sh $(BENCH_PROGS)

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	$(Q)rm -rf $(OUT) marllb.o marllb_decap.o
