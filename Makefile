# backprop — GNU make build.
#   make                 library (static + shared) and the CLI in build/
#   make check           unit tests, CLI tests and examples
#   make check-isa       `make check` once per CPU path (BACKPROP_ISA) this CPU runs
#   make run             the article's worked example and a short training demo
#   make bench           benchmarks (bench/results.md)
#   make install PREFIX=/usr/local
#   make SANITIZE=1 check   everything under ASan + UBSan, in build/san
#   make BLAS=openblas   GEMM from OpenBLAS instead of our kernels (for comparison)
#   make check-gpu       the CUDA backend against the CPU backend (GPU machine, docs/gpu.md)
#   make bench-gpu       backprop against PyTorch on the GPU (bench/results-gpu.md)
#   make NVCC=           build without the CUDA backend even where nvcc is found
#   make MPI=0           a one-process CLI even where mpicc is installed

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic
# Only the functions declared BP_API in backprop.h are exported from the
# shared library (tests/cli_symbols.sh checks it); internal helpers stay hidden.
VISIBILITY := -fvisibility=hidden
CPPFLAGS += -Iinclude -D_POSIX_C_SOURCE=200809L
# src/ on the include path ("nn/…", "io/…"): for nn/, io/, explain/, the tests
# and the fuzz build, not for kernels/ or cli/ (see below, docs/layers.md).
SRC_INC := -Isrc
LDLIBS  := -lz -lm -lpthread -ldl

BUILD := build
ifeq ($(SANITIZE),1)
BUILD := build/san
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(BLAS),openblas)
BUILD := $(BUILD)/openblas
CPPFLAGS += -DBP_USE_OPENBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS += -lopenblas
endif

LIB_SRC := $(sort $(wildcard src/kernels/*.c src/nn/*.c src/io/*.c src/explain/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)

# kernels/ and cli/ include only their own headers and backprop.h, so they
# build without -Isrc: an include of another layer there fails to compile.
# The other layers' rules are checked by tests/cli_layering.sh.
$(CLI_OBJ) $(filter $(BUILD)/obj/src/kernels/%,$(LIB_OBJ)): SRC_INC :=
HEADERS := include/backprop.h $(wildcard src/*/*.h)

TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

STATIC := $(BUILD)/libbackprop.a
SHARED := $(BUILD)/libbackprop.so
CLI    := $(BUILD)/backprop

# ---- the CUDA backend (src/cuda/, docs/gpu.md) ----------------------------
.DEFAULT_GOAL := all
# Built when nvcc is found ($(CUDA_HOME)/bin, else PATH) into its own
# libbackprop_cuda.so, which libbackprop loads at run time
# (kernels/cuda_loader.c): libbackprop and the CLI never link CUDA.  Always
# in build/ (the sanitizer build shares it: nvcc is slow and ASan adds
# nothing to device code).  sm_90 (H100/H200) plus its PTX for newer GPUs.
CUDA_HOME ?= /usr/local/cuda
NVCC ?= $(firstword $(wildcard $(CUDA_HOME)/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CUDA_SRC := $(sort $(wildcard src/cuda/*.cu))
CUDA_OBJ := $(CUDA_SRC:%.cu=build/obj/%.o)
CUDA_LIB := build/libbackprop_cuda.so
# --fmad=false: no a·b + c contracted into an FMA, as on the CPU's portable
# path, so the element-wise ops give its bits (src/cuda/cuda_kernels.cu).
NVCCFLAGS ?= -O2
NVCC_ALL := -std=c++20 --fmad=false -gencode arch=compute_90,code=sm_90 \
            -gencode arch=compute_90,code=compute_90 \
            -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra -Iinclude -Isrc -Isrc/cuda
GPU_TEST_BIN := $(BUILD)/tests/gpu/test_cuda_ops
ifneq ($(NVCC),)
CUDA_ROOT := $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_TARGET := $(CUDA_LIB)
ifeq ($(MAKELEVEL),0)
$(info backprop: CUDA backend: built with $(NVCC) (sm_90 + PTX) into $(CUDA_LIB))
endif
else
CUDA_TARGET :=
ifeq ($(MAKELEVEL),0)
$(info backprop: CUDA backend: not built (no nvcc in $(CUDA_HOME)/bin or on PATH))
endif
endif

build/obj/src/cuda/%.o: src/cuda/%.cu src/cuda/cuda_internal.h src/kernels/backend.h \
                        src/kernels/rng.h src/kernels/act_scalar.h include/backprop.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_ALL) $(NVCCFLAGS) -c $< -o $@
$(CUDA_LIB): $(CUDA_OBJ)
	$(NVCC) -shared -o $@ $^ -lcublas -Xlinker -rpath,$(CUDA_ROOT)/lib64

# The GPU ops test is plain C (the loader and the CPU backend from the static
# library): it builds everywhere and, without a GPU, says why and passes.
$(GPU_TEST_BIN): tests/gpu/test_cuda_ops.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LDLIBS)

# Every op against the CPU backend, twice (same bits), then the CLI runs
# once `--device cuda` exists (tests/gpu/check_gpu.sh says what it ran).
# Without nvcc it uses a $(CUDA_LIB) built elsewhere and carried here.
check-gpu: all $(GPU_TEST_BIN)
	@if [ -z "$(NVCC)" ] && [ ! -f $(CUDA_LIB) ]; then echo "check-gpu: no nvcc (set CUDA_HOME or NVCC) and no $(CUDA_LIB): the CUDA backend is not built"; exit 1; fi
	@BACKPROP_CUDA_LIB=$(CUDA_LIB) sh tests/gpu/check_gpu.sh $(BUILD)

# The step benchmark (bench/gpu_step.c, plain C over a backend's ops).
$(BUILD)/bench/gpu_step: bench/gpu_step.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LDLIBS)

bench-gpu: all $(BUILD)/bench/gpu_step
	@BACKPROP_CUDA_LIB=$(CUDA_LIB) sh bench/gpu_bench.sh $(BUILD)

.PHONY: all check check-isa run bench install install-python uninstall uninstall-python clean fuzz fuzz-build valgrind tests examples deps check-gpu bench-gpu

# `make check` and `make run` first make sure the compiler, zlib and (for
# check) cmocka are there, installing what is missing with apt-get when root
# or with passwordless sudo, else saying the exact command (tools/deps.sh).
# It runs while the Makefile is read, so even `make -j` builds nothing before.
ifneq ($(filter check check-isa run,$(MAKECMDGOALS)),)
DEPS_FOR := $(if $(filter check check-isa,$(MAKECMDGOALS)),check,run)
DEPS_RC := $(shell CC="$(CC)" sh tools/deps.sh $(DEPS_FOR) >&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error the build dependencies are missing (see above))
endif
endif
# MPI (docs/scaling.md): where mpicc is installed, build/backprop is the
# multi-process command (`mpirun -np P build/backprop train …`).  Only
# src/cli/mpi.c includes <mpi.h>: it is compiled with mpicc into mpi.mpi.o
# (the stubs of a one-process build are mpi.o, so switching never reuses a
# stale object) and the CLI is linked with mpicc.  The library never
# depends on MPI, and a plain `backprop train` never starts it.
MPI ?= auto
MPICC ?= mpicc
ifeq ($(MPI),auto)
MPI := $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
endif
ifeq ($(MPI),1)
CLI_OBJ := $(filter-out $(BUILD)/obj/src/cli/mpi.o,$(CLI_OBJ)) $(BUILD)/obj/src/cli/mpi.mpi.o
CLI_LD := $(MPICC)
MPI_SAY := MPI: building the multi-process backprop with $(MPICC)
else
CLI_LD = $(CC)
MPI_SAY := MPI: $(MPICC) not found; one-process build
endif

all: $(STATIC) $(SHARED) $(CLI) $(CUDA_TARGET)
deps:
	CC="$(CC)" sh tools/deps.sh check

# Per-ISA kernel files get their instruction set; the rest stays portable and
# the right path is chosen by cpuid at run time.
$(BUILD)/obj/%_avx2.o: %_avx2.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(CFLAGS) $(VISIBILITY) -fPIC -mavx2 -mfma -c $< -o $@
$(BUILD)/obj/%_avx512.o: %_avx512.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(CFLAGS) $(VISIBILITY) -fPIC -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma -c $< -o $@
$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(CFLAGS) $(VISIBILITY) -fPIC -c $< -o $@
# gcc's -O2 vectorises only loops whose trip count is known to be a multiple of
# the vector width (its "very cheap" cost model), so the element-wise ops of
# any length (fill, the sum of gradient shards, axpy, scale) ran one float at
# a time.  Vectorising never reorders a float addition (reductions stay scalar
# without -ffast-math), so the bits do not change (tests/cli_same_bits.sh).
KERNEL_VEC := $(shell $(CC) -Werror -ftree-vectorize -fvect-cost-model=cheap -x c -c /dev/null \
                -o /dev/null 2>/dev/null && echo -ftree-vectorize -fvect-cost-model=cheap)
$(BUILD)/obj/src/kernels/%.o: CFLAGS += $(KERNEL_VEC)

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
$(SHARED): $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libbackprop.so.0 -o $@ $^ $(LDLIBS)
$(BUILD)/obj/src/cli/mpi.mpi.o: src/cli/mpi.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CPPFLAGS) -DBP_MPI $(WARN) $(CFLAGS) $(VISIBILITY) -fPIC -c $< -o $@
$(CLI): $(CLI_OBJ) $(STATIC)
	@echo "$(MPI_SAY)"
	$(CLI_LD) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LDLIBS)

# Tests see the library's internal headers (src/) so kernels can be tested
# directly; they link the static library.
$(BUILD)/tests/%: tests/%.c tests/testutil.h tests/gemm_case.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SRC_INC) -Itests $(WARN) $(CFLAGS) -o $@ $< $(STATIC) -lcmocka $(LDFLAGS) $(LDLIBS)
# Examples use only the public header, as an outside program would.
$(BUILD)/examples/%: examples/%.c include/backprop.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(WARN) $(CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LDLIBS)

tests: $(TEST_BIN)
examples: $(EXAMPLE_BIN)

check: all $(TEST_BIN) $(EXAMPLE_BIN) $(GPU_TEST_BIN)
	@BACKPROP_CUDA_LIB=$(CUDA_LIB) BUILD=$(BUILD) SAN_FLAGS="$(filter -fsanitize%,$(LDFLAGS))" sh tests/run.sh $(TEST_BIN) $(GPU_TEST_BIN)

# The whole of `make check` once per CPU path this machine runs
# (BACKPROP_ISA=portable, avx2, avx512; a path the CPU lacks is skipped with
# one line).  `make check` itself already runs test_kernels and
# tests/cli_isa_bits.sh on every path; this also puts every other test on each.
check-isa: all $(TEST_BIN) $(EXAMPLE_BIN)
	@for isa in portable avx2 avx512; do \
	    if ! sh tests/isa.sh $$isa; then echo "check-isa: skipping $$isa (not supported by this CPU)"; continue; fi; \
	    echo "check-isa: BACKPROP_ISA=$$isa"; \
	    BACKPROP_ISA=$$isa BUILD=$(BUILD) SAN_FLAGS="$(filter -fsanitize%,$(LDFLAGS))" \
	        sh tests/run.sh $(TEST_BIN) || exit 1; \
	done

run: all
	sh examples/run.sh $(BUILD)

bench: all
	sh bench/run.sh $(BUILD)

# The documents backprop.h and backprop(3) refer to, installed in share/doc/backprop.
DOCS := $(sort $(wildcard docs/*.md))

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/share/doc/backprop
	install -m 644 include/backprop.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libbackprop.so.0
	ln -sf libbackprop.so.0 $(DESTDIR)$(PREFIX)/lib/libbackprop.so
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	if [ -f "$(CUDA_TARGET)" ]; then install -m 755 $(CUDA_LIB) $(DESTDIR)$(PREFIX)/lib/; fi
	install -m 644 man/backprop.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/backprop.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 644 README.md $(DOCS) $(DESTDIR)$(PREFIX)/share/doc/backprop/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*BP_VERSION_STRING "\(.*\)"/\1/p' include/backprop.h)|' \
	    backprop.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/backprop.pc
	@$(MAKE) --no-print-directory install-python

# The Python package (python/backprop, pure Python over libbackprop.so via
# ctypes) for $(PYTHON): into Debian's /usr/lib/python3/dist-packages for
# PREFIX=/usr, else $(PREFIX)/lib/python3.X/dist-packages (on sys.path for
# /usr/local); PYTHON_SITE overrides.  _installed.py records where the
# library went, so the package finds it without ldconfig or LD_LIBRARY_PATH.
PYTHON ?= /usr/bin/python3
PYTHON_SITE ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)/dist-packages)
install-python:
	@if [ ! -x "$(PYTHON)" ]; then echo "install-python: $(PYTHON) not found, Python package not installed"; exit 0; fi; \
	set -e; d="$(DESTDIR)$(PYTHON_SITE)/backprop"; \
	install -d "$$d"; \
	install -m 644 python/backprop/*.py "$$d/"; \
	echo 'LIBRARY = "$(PREFIX)/lib/libbackprop.so.0"' > "$$d/_installed.py"; \
	echo "installed the Python package in $$d"
uninstall-python:
	rm -rf $(DESTDIR)$(PYTHON_SITE)/backprop

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/backprop.h $(DESTDIR)$(PREFIX)/lib/libbackprop.a \
	    $(DESTDIR)$(PREFIX)/lib/libbackprop.so $(DESTDIR)$(PREFIX)/lib/libbackprop.so.0 \
	    $(DESTDIR)$(PREFIX)/lib/libbackprop_cuda.so \
	    $(DESTDIR)$(PREFIX)/bin/backprop $(DESTDIR)$(PREFIX)/share/man/man1/backprop.1 \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/backprop.pc $(DESTDIR)$(PREFIX)/share/man/man3/backprop.3
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/backprop
	rm -rf $(DESTDIR)$(PYTHON_SITE)/backprop

clean:
	rm -rf build

# Fuzzing (tests/fuzz, docs/reliability.md): every target is built with clang
# and libFuzzer against the library sources compiled afresh into build/fuzz
# (not the gcc objects), then each runs FUZZ_SECONDS on a copy of its seed
# corpus under build/fuzz/corpus, so tests/fuzz/corpus stays as committed.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)

$(FUZZ_DIR)/obj/%_avx2.o: %_avx2.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -mavx2 -mfma -c $< -o $@
$(FUZZ_DIR)/obj/%_avx512.o: %_avx512.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma -c $< -o $@
$(FUZZ_DIR)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/libbackprop.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_DIR)/libbackprop.a
	$(FUZZ_CC) $(CPPFLAGS) $(SRC_INC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libbackprop.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_BIN)

# A short training run under valgrind (normal build): no errors, no leaks.
valgrind: all
	valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
	    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 -q \
	    $(CLI) train data/iris.csv --epochs 3 --threads 2 --checkpoint $(BUILD)/valgrind.bpc \
	    -o $(BUILD)/valgrind.bpm
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	    --error-exitcode=1 -q $(CLI) eval $(BUILD)/valgrind.bpm data/iris.csv --threads 2
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	    --error-exitcode=1 -q $(CLI) train data/iris.csv --resume $(BUILD)/valgrind.bpc \
	    --epochs 4 --threads 2 -o $(BUILD)/valgrind.bpm
	@echo "valgrind: no errors, no leaks"
