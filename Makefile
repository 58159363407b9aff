# fermata: facial expressions in, music out, as small Unix filters.
# GNU make. Users may set CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX, DESTDIR, BINDIR, MANDIR,
# DATADIR and BLAS_LIBS; our own flags live in FM_* variables so a user's CFLAGS never
# drops warnings or include paths. WERROR=1 adds -Werror (make check and CI set it).

VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/fermata
CFLAGS  ?= -O2 -g

# A fresh Debian machine gets its packages before anything needs a header or a tool, and only
# the packages its goals need (scripts/deps.sh): a plain make or make install asks for the
# compiler and libraries, the test goals for the test tools, demo for sox, bench for OpenCV
# and aubio, fuzz for clang. NO_DEPS=1 skips this (packagers, offline builds).
DEPS_GOALS = $(sort $(foreach g,$(or $(MAKECMDGOALS),all), \
	$(if $(filter check asan tsan valgrind lint unit cli hostile,$(g)),check) \
	$(filter demo bench fuzz,$(g))))
ifeq ($(NO_DEPS),)
ifneq ($(filter-out clean uninstall,$(or $(MAKECMDGOALS),all)),)
DEPS_STATUS := $(shell scripts/deps.sh --check $(DEPS_GOALS) >/dev/null 2>&1 || \
	scripts/deps.sh $(DEPS_GOALS) >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error scripts/deps.sh could not install the packages fermata needs)
endif
endif
endif

PKGS       = libjpeg libpng libcjson sndfile soxr libavformat libavcodec libavutil cairo
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) openblas 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
BLAS_LIBS  ?= $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

# The tools find their model and profiles at DATADIR as seen from BINDIR (../share/fermata),
# so that make install PREFIX=/other or DESTDIR= needs no rebuild; DATADIR itself comes
# second (cmd/common.c, find_shipped_file).
DATADIR_FROM_BIN := $(shell realpath -m --relative-to='$(BINDIR)' '$(DATADIR)' 2>/dev/null)
FM_CPPFLAGS = -Ilib -D_POSIX_C_SOURCE=200809L -DFM_VERSION='"$(VERSION)"' \
	-DFM_DATADIR='"$(DATADIR)"' \
	-DFM_DATADIR_FROM_BIN='"$(or $(DATADIR_FROM_BIN),../share/fermata)"' $(PKG_CFLAGS)
FM_CFLAGS   = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-MMD -MP $(if $(filter 1,$(WERROR)),-Werror)
FM_LIBS     = $(PKG_LIBS) $(BLAS_LIBS) -lpthread -lm

TOOLS     = fer-detect fer-classify fer-react fer-train song-featurize recommend fer-annotate fer-summary
LIB_SRCS  = $(sort $(wildcard lib/*.c))
CMD_SRCS  = $(filter-out $(TOOLS:%=cmd/%.c),$(sort $(wildcard cmd/*.c)))
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNITS     = $(UNIT_SRCS:tests/unit/%.c=%)
MANS      = $(sort $(wildcard man/*.[1-9]))

# $(call objs,BUILDDIR,SOURCES)
objs = $(patsubst %.c,$(1)/%.o,$(2))

B = build
LIB      = $(B)/libfermata.a
BINS     = $(TOOLS:%=$(B)/bin/%)
UNITBINS = $(UNITS:%=$(B)/tests/%)
BENCHBINS = $(B)/bench/bench_cnn

.PHONY: all check asan tsan valgrind bench demo fuzz lint install uninstall clean unit cli hostile FORCE

all: $(LIB) $(BINS)

# --- build rules, instantiated for build/ and build-asan/ -----------------------------
define BUILD_RULES
$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(FM_CPPFLAGS) $$(CPPFLAGS) $$(FM_CFLAGS) $(2) $$(CFLAGS) -c -o $$@ $$<

$(1)/libfermata.a: $$(call objs,$(1),$$(LIB_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

# The data directories are compiled into cmd/: a change of PREFIX, BINDIR or DATADIR since
# the last build rebuilds it (the file changes only then), as make install PREFIX= does.
$(1)/datadir: FORCE
	@mkdir -p $$(@D)
	@echo '$$(DATADIR) $$(DATADIR_FROM_BIN)' | cmp -s - $$@ || \
		echo '$$(DATADIR) $$(DATADIR_FROM_BIN)' >$$@

$$(call objs,$(1),$$(CMD_SRCS) $$(TOOLS:%=cmd/%.c)): $(1)/datadir

$(1)/bin/%: $(1)/cmd/%.o $$(call objs,$(1),$$(CMD_SRCS)) $(1)/libfermata.a
	@mkdir -p $$(@D)
	$$(CC) $(2) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(FM_LIBS)

# The Makefile is a prerequisite so that a binary linked before tests/unit/filter.o existed
# is linked again with it.
$(1)/tests/%: $(1)/tests/unit/%.o $(1)/tests/unit/filter.o $(1)/libfermata.a Makefile
	@mkdir -p $$(@D)
	$$(CC) $(2) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$(filter %.o %.a,$$^) -lcmocka $$(FM_LIBS)

# cmd/common.c's hand-off of signals to the line writer has a unit test of its own.
$(1)/tests/test_common: $(1)/cmd/common.o

-include $$(patsubst %.c,$(1)/%.d,$$(LIB_SRCS) $$(CMD_SRCS) $$(TOOLS:%=cmd/%.c) $$(UNIT_SRCS) \
	tests/unit/filter.c)
endef

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
$(eval $(call BUILD_RULES,build,))
$(eval $(call BUILD_RULES,build-asan,$(ASAN_FLAGS)))
$(eval $(call BUILD_RULES,build-tsan,$(TSAN_FLAGS)))

# Benchmark programs (make bench): built as the unit tests are, without cmocka.
$(B)/bench/%: $(B)/tests/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(FM_LIBS)

-include $(BENCHBINS:$(B)/bench/%=$(B)/tests/bench/%.d)

.SECONDARY:

# --- tests ----------------------------------------------------------------------------
# Every runner speaks TAP; tests/run-tests ends with "N passed, N failed, N skipped".
RUN_TESTS = tests/run-tests

check:
	$(MAKE) --no-print-directory WERROR=1 all $(UNITBINS)
	$(MAKE) --no-print-directory lint
	$(RUN_TESTS) build

asan:
	$(MAKE) --no-print-directory WERROR=1 CFLAGS='-O1 -g' \
		build-asan/libfermata.a $(TOOLS:%=build-asan/bin/%) $(UNITS:%=build-asan/tests/%)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp:print_suppressions=0 $(RUN_TESTS) build-asan

# The hostile-input suite in a ThreadSanitizer build, where the tools' --jobs threads run
# (fer-detect, fer-classify, song-featurize, fer-train): a data race is a report on stderr,
# which fails its case.
tsan:
	$(MAKE) --no-print-directory WERROR=1 CFLAGS='-O1 -g' build-tsan/libfermata.a \
		$(TOOLS:%=build-tsan/bin/%)
	TSAN_OPTIONS=halt_on_error=1 tests/hostile build-tsan '$(or $(P),*)'

# One suite, one file, one case, in the build as users build it (README, "Testing"):
#   make unit [T=module] [C=glob]     tests/unit/test_T.c, or every one; C picks cases by
#                                     name with cmocka's * and ? (tests/unit/filter.c)
#   make cli [F=tool] [C=regex]       tests/cli/F.bats, or every one; C goes to bats --filter
#   make hostile [P=glob]             the cases of testdata/bad/cases whose names match P
# Each fails when its filter matches nothing, so a typo never looks like a pass.
TEST_ENV = FM_BIN='$(CURDIR)/$(B)/bin' FM_TESTDATA='$(CURDIR)/testdata' FM_ROOT='$(CURDIR)'
UNIT_PICK = $(if $(T),test_$(T),$(UNITS))
CLI_FILES = $(if $(F),tests/cli/$(F).bats,$(sort $(wildcard tests/cli/*.bats)))

ifneq ($(filter unit,$(MAKECMDGOALS)),)
ifneq ($(T),)
ifeq ($(wildcard tests/unit/test_$(T).c),)
$(error T=$(T): there is no tests/unit/test_$(T).c; T is one of: $(UNITS:test_%=%))
endif
endif
endif
ifneq ($(filter cli,$(MAKECMDGOALS)),)
ifneq ($(F),)
ifeq ($(wildcard tests/cli/$(F).bats),)
$(error F=$(F): there is no tests/cli/$(F).bats; F is one of: $(patsubst tests/cli/%.bats,%,$(wildcard tests/cli/*.bats)))
endif
endif
endif

unit: $(UNIT_PICK:%=$(B)/tests/%)
	@status=0; matched=0; for t in $(UNIT_PICK); do \
		out=$$(CMOCKA_TEST_FILTER='$(C)' $(B)/tests/$$t 2>&1) || status=1; \
		printf '%s\n' "$$out"; \
		printf '%s\n' "$$out" | grep -q '^\[==========\] 0 test(s) run' || matched=1; \
	done; \
	[ $$matched = 1 ] || { echo "unit: no case in $(UNIT_PICK) matches C='$(C)'" >&2; exit 1; }; \
	exit $$status

cli: all
	@[ -z '$(C)' ] || sed -n 's/^@test "\(.*\)" {$$/\1/p' $(CLI_FILES) | grep -Eq -- '$(C)' || \
		{ echo "cli: no test in $(CLI_FILES) matches C='$(C)'" >&2; exit 1; }
	$(TEST_ENV) bats $(if $(C),--filter '$(C)') $(CLI_FILES)

hostile: all
	tests/hostile $(B) '$(or $(P),*)'

# The hostile-input suite (testdata/bad/cases) under valgrind: memory errors and leaks that
# the sanitizer build does not see, in the binaries as users build them. make check and
# make asan run the same suite without valgrind, through tests/run-tests.
valgrind:
	$(MAKE) --no-print-directory WERROR=1 all
	tests/hostile --valgrind build

# The C sources in the committed .clang-format's one dialect, and the manuals lint clean.
C_SRCS = $(sort $(wildcard lib/*.[ch] cmd/*.[ch] tests/unit/*.c tests/fuzz/*.c tests/bench/*.c))

lint:
	@clang-format --dry-run --Werror $(C_SRCS) || \
		{ echo "clang-format: run clang-format -i on the files above"; exit 1; }
	@echo "clang-format: clean"
	@out=$$(mandoc -T lint -W warning $(MANS) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "mandoc lint: clean"

bench: all $(BENCHBINS)
	scripts/bench/run.sh

demo: all
	scripts/demo/demo.sh

# Fuzzing (libFuzzer, clang from Debian): build-fuzz/fuzz_NAME from tests/fuzz/fuzz_NAME.c
# over the library built with the fuzzer's coverage and ASan/UBSan, and with libFuzzer's
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, under which lib/ takes every stored checksum as
# good (fm_checksum_ok), so that mutated files reach the checks behind the sum; tests/fuzz.sh
# runs each FUZZ_TIME seconds (default 600) from tests/fuzz/corpus/NAME.
FUZZ_CC    = clang
FUZZ_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_SRCS  = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS    = $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)

build-fuzz/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FM_CPPFLAGS) -std=c11 -Wall -Wextra -MMD -MP $(FUZZ_FLAGS) \
		-fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/libfermata.a: $(call objs,build-fuzz,$(LIB_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^

build-fuzz/tests/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FM_CPPFLAGS) -std=c11 -Wall -Wextra -MMD -MP $(FUZZ_FLAGS) \
		-fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/fuzz_%: build-fuzz/tests/fuzz_%.o build-fuzz/libfermata.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(FM_LIBS)

-include $(LIB_SRCS:%.c=build-fuzz/%.d) $(FUZZERS:build-fuzz/%=build-fuzz/tests/%.d)

fuzz:
	$(MAKE) --no-print-directory $(FUZZERS)
	tests/fuzz.sh

# --- install --------------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 $(filter %.1,$(MANS)) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(filter %.5,$(MANS)) $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(filter %.7,$(MANS)) $(DESTDIR)$(MANDIR)/man7
	install -m 644 models/fer2013.fm models/fer2013-fast.fm models/face-detect.fm \
		models/profiles.json $(DESTDIR)$(DATADIR)

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MANS)))
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man5/%,$(filter %.5,$(MANS)))
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man7/%,$(filter %.7,$(MANS)))
	rm -f $(DESTDIR)$(DATADIR)/fer2013.fm $(DESTDIR)$(DATADIR)/fer2013-fast.fm \
		$(DESTDIR)$(DATADIR)/face-detect.fm $(DESTDIR)$(DATADIR)/profiles.json
	-rmdir $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan build-tsan build-fuzz
