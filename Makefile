# tamis: a plain Makefile.  `make help` lists the targets.
#
#   make                 build lib/libtamis.a and every bin/tamis-* program
#   make check           install deps, build, run all tests, then again under ASan+UBSan
#   make check-long      longer suites: fuzzing for a while, large data, TSan
#   make bench           benchmarks against peers (bench/*.sh), figures in bench/RESULTS.md
#   make demo            the end-to-end demo on a local crawl
#   make langid-model    rebuild filters/langid.tlid from Debian text + UDHR
#   make fuzz            libFuzzer targets (clang) in $(OUT)/build/fuzz
#   make install PREFIX=/usr/local
#
# Knobs: DEVELOPER=1 (warnings are errors), SANITIZE=address,undefined,
# OUT=dir (build outputs go to dir/bin and dir/build), V=1 (show commands).
# CUDA: with nvcc on PATH (or in CUDA_HOME, default /usr/local/cuda) the
# trainer's CUDA backend (train/cuda/*.cu) is built in and `tamis train
# --device cuda` works; NVCC= builds without it.  CUDA_GENCODE picks the
# GPU architectures (default sm_80 and sm_90, with sm_90 PTX).

PREFIX ?= /usr/local
OUT ?= .
CC ?= cc
CLANG ?= clang
PROVE ?= prove
JOBS ?= 2

PKGS = zlib libzstd libxml-2.0 libcurl sqlite3 icu-uc icu-i18n jansson \
       libxxhash libisal libcrypto openblas
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))

CFLAGS ?= -O2 -g
# -fno-trapping-math -fno-math-errno: no code here looks at floating-point
# exceptions or at errno after sqrt, and with them GCC will not turn a
# float comparison into a select nor inline sqrt, so loops such as
# train/vmath.h's exp and the AdamW update stay scalar.  Neither changes a
# value; -ffast-math, which would, stays off.
BASE_CFLAGS = -std=gnu11 -pthread -D_GNU_SOURCE -Ilib -Ifilters -Idedup -Itrain -Itests/unit \
	      -MMD -MP -fno-strict-aliasing -fno-trapping-math -fno-math-errno
LDLIBS = $(PKG_LIBS) -lm -pthread
# jemalloc for the programs: libxml2 builds a tree per page, and glibc's
# malloc/free of those small nodes was a fifth of tamis-extract's time;
# jemalloc takes ~15% off.  Not with sanitizers, which bring their own.
ifeq ($(SANITIZE),)
MALLOC_LIBS = $(shell pkg-config --libs jemalloc)
endif

ifeq ($(DEVELOPER),1)
BASE_CFLAGS += -Werror -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wwrite-strings -Wformat=2 \
	-Wpointer-arith -fno-common -Wno-unused-parameter
endif
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

CUDA_HOME ?= /usr/local/cuda
NVCC ?= $(shell command -v nvcc 2>/dev/null || \
	  { test -x $(CUDA_HOME)/bin/nvcc && echo $(CUDA_HOME)/bin/nvcc; })
CUDA_GENCODE ?= -gencode arch=compute_80,code=sm_80 \
	-gencode arch=compute_90,code=[sm_90,compute_90]
NVCC_FLAGS = -std=c++17 -O2 -lineinfo $(CUDA_GENCODE) -Ilib -Itrain -MMD -MP \
	-Xcompiler -Wall,-Wextra,-fno-strict-aliasing
ifeq ($(DEVELOPER),1)
NVCC_FLAGS += -Werror all-warnings -Xcompiler -Werror
endif
ifneq ($(NVCC),)
CUDA_SRC = $(wildcard train/cuda/*.cu)
BASE_CFLAGS += -DTM_HAVE_CUDA
# as-needed: only the programs that call the trainer load the CUDA libraries
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -Wl,--push-state,--as-needed \
	  -lcublasLt -lcublas -lcudart -lstdc++ -Wl,--pop-state
endif
CUDA_OBJ = $(patsubst %.cu,$(B)/%.o,$(CUDA_SRC))
CUDA_TOOLS = $(if $(NVCC),$(B)/tests/cuda-check)

ALL_CFLAGS = $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)

ifneq ($(V),1)
Q_CC = @echo '   CC    ' $@;
Q_NVCC = @echo '   NVCC  ' $@;
Q_AR = @echo '   AR    ' $@;
Q_LD = @echo '   LINK  ' $@;
endif

B = $(OUT)/build
BIN = $(OUT)/bin

LIB_SRC = $(wildcard lib/*.c filters/*.c dedup/*.c train/*.c)
# The CUDA objects (when nvcc is there) go into libtamis.a too: they call
# into it (llama.h) and trainer.o calls them, one archive resolves both ways.
LIB_OBJ = $(patsubst %.c,$(B)/%.o,$(LIB_SRC)) $(CUDA_OBJ)
LIBTAMIS = $(B)/libtamis.a

CMD_COMMON_SRC = cmd/common.c
CMD_COMMON_OBJ = $(B)/cmd/common.o
CMD_SRC = $(filter-out $(CMD_COMMON_SRC),$(wildcard cmd/*.c))
CMD_BIN = $(patsubst cmd/%.c,$(BIN)/tamis-%,$(filter-out cmd/tamis.c,$(CMD_SRC))) \
	  $(BIN)/tamis

UNIT_SRC = $(wildcard tests/unit/u-*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
TAP_OBJ = $(B)/tests/unit/tap.o

FUZZ_SRC = $(wildcard tests/fuzz/f-*.c)
FUZZ_REPLAY = $(patsubst tests/fuzz/f-%.c,$(B)/fuzz/replay-%,$(FUZZ_SRC))
FUZZ_BIN = $(patsubst tests/fuzz/f-%.c,$(B)/fuzz/fuzz-%,$(FUZZ_SRC))

MAN = $(wildcard docs/man/*.1)

.PHONY: all check check-long test test-unit test-integration test-fuzz \
	bench demo fuzz install clean help deps langid-model
.DELETE_ON_ERROR:
.SECONDARY:

all: $(CMD_BIN) $(CUDA_TOOLS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(Q_NVCC)$(NVCC) $(NVCC_FLAGS) -c -o $@ $<

$(LIBTAMIS): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

$(BIN)/tamis-%: $(B)/cmd/%.o $(CMD_COMMON_OBJ) $(LIBTAMIS)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(MALLOC_LIBS)

$(BIN)/tamis: $(B)/cmd/tamis.o $(CMD_COMMON_OBJ) $(LIBTAMIS)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/u-%: $(B)/tests/unit/u-%.o $(TAP_OBJ) $(LIBTAMIS)
	$(Q_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Drivers for the integration tests that hold tamis up against other
# readers and writers (numpy by the spec, transformers, torch autograd):
# tests/torch/NAME.c
# becomes $(B)/tests/NAME.
TEST_TOOLS = $(patsubst tests/torch/%.c,$(B)/tests/%,$(wildcard tests/torch/*.c))
$(TEST_TOOLS): $(B)/tests/%: $(B)/tests/torch/%.o $(LIBTAMIS)
	$(Q_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The CUDA backend's checks (tests/cuda/cuda-check.c: kernels, the model
# against the CPU one, training side by side, throughput), built with it;
# run on a GPU by bench/gpu.sh.
$(B)/tests/cuda-check: $(B)/tests/cuda/cuda-check.o $(LIBTAMIS)
	$(Q_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The fuzz targets, built with the normal compiler and a driver that replays
# the checked-in corpus (tests/fuzz/corpus/NAME/): run by `make check`.
$(B)/fuzz/replay-%: $(B)/tests/fuzz/f-%.o $(B)/tests/fuzz/replay.o $(LIBTAMIS)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The same targets as libFuzzer binaries (clang), for `make fuzz`.
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -g -O1
$(B)/fuzz/fuzz-%: tests/fuzz/f-%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(Q_LD)$(CLANG) -std=gnu11 -D_GNU_SOURCE -Ilib -Ifilters -Idedup -Itrain $(PKG_CFLAGS) \
		$(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)

fuzz: $(FUZZ_BIN)

TEST_ENV = TAMIS_BIN=$(abspath $(BIN)) TAMIS_SRC=$(CURDIR) \
	   TAMIS_DATA=$(abspath ../shared/data) TAMIS_BUILD=$(abspath $(B)) \
	   PATH=$(abspath $(BIN)):$$PATH

test-unit: $(UNIT_BIN)
	$(if $(UNIT_BIN),$(TEST_ENV) $(PROVE) -j$(JOBS) -e '' $(UNIT_BIN))

# Each replay-NAME binary replays tests/fuzz/corpus/NAME/ and prints TAP.
test-fuzz: $(FUZZ_REPLAY)
	$(if $(FUZZ_REPLAY),$(TEST_ENV) $(PROVE) -j$(JOBS) -e '' $(FUZZ_REPLAY))

test-integration: all $(TEST_TOOLS)
	$(TEST_ENV) $(PROVE) -j$(JOBS) -e bash $(wildcard tests/integration/t*.sh)

test: all test-unit test-fuzz test-integration

deps:
	./scripts/deps.sh

check: deps
	$(MAKE) DEVELOPER=1 test
	$(MAKE) DEVELOPER=1 OUT=build/san SANITIZE=address,undefined test

check-long: check fuzz
	./tests/long/run.sh

bench: all
	@for s in bench/*.sh; do [ "$$s" = bench/lib.sh ] && continue; echo "== $$s"; $$s || exit 1; done

demo: all
	./scripts/demo.sh

# The default language-id model, filters/langid.tlid (committed): the
# corpus from Debian's translated prose and the UDHR (scripts/langid-corpus.sh,
# minutes), then training (a few minutes, one thread, deterministic).
LANGID_TRAIN = --minn 2 --dim 28 --epochs 15 --epoch-floor 200k --epoch-cap 500k \
	--min-bytes 12000 --prior 0.2 --seed 1
langid-model: all
	./scripts/deps.sh --corpus
	./scripts/langid-corpus.sh
	$(BIN)/tamis-langid train $(LANGID_TRAIN) -o filters/langid.tlid \
		bench/work/langid/train.tsv

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CMD_BIN) $(DESTDIR)$(PREFIX)/bin/
	$(if $(MAN),install -m 644 $(MAN) $(DESTDIR)$(PREFIX)/share/man/man1/)
	install -d $(DESTDIR)$(PREFIX)/share/tamis
	install -m 644 filters/langid.tlid $(DESTDIR)$(PREFIX)/share/tamis/
	install -d $(DESTDIR)$(PREFIX)/share/tamis/filters/ldnoobw
	install -m 644 $(filter-out filters/data/README.md,$(wildcard filters/data/*.*)) \
		filters/data/README.md $(DESTDIR)$(PREFIX)/share/tamis/filters/
	install -m 644 filters/data/ldnoobw/* $(DESTDIR)$(PREFIX)/share/tamis/filters/ldnoobw/

clean:
	rm -rf build bin

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

-include $(shell find $(B) -name '*.d' 2>/dev/null)
