# Two commands for a newcomer: `make demo` and `make test`. Both install what is
# missing (Debian packages), configure, build and run.
BUILD      ?= build
SANITIZE   ?= 0
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)

ifeq ($(SANITIZE),1)
  BUILD := $(BUILD)-sanitize
  CMAKE_FLAGS += -DDLC_SANITIZE=ON
endif

DLC := $(BUILD)/bin/dlc

.PHONY: all deps configure build test test-sanitize demo bench fuzz-deps fuzz-build fuzz fuzz-ci format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE sanitize

# The emitted code of every example under ThreadSanitizer and ASan+UBSan (clang++-19):
# two contexts on two threads (tests/sanitize/emitted.sh). CI runs it after `make test`.
test-sanitize: build
	@scripts/install-deps.sh libclang-rt-19-dev
	cd $(BUILD) && ctest --output-on-failure -L sanitize

demo: build
	@DLC=$(DLC) scripts/demo.sh

# Benchmark against PyTorch and the FMA peak (bench/README.md). PyTorch gets an
# optimised BLAS (OpenBLAS, OpenMP build): Debian's default reference BLAS is 50x slower.
bench: build
	scripts/install-deps.sh python3-torch libopenblas0-openmp
	/usr/bin/python3 bench/run.py --build $(BUILD)

# libFuzzer harnesses of the parsers (docs/fuzzing.md): a separate clang++-19 build with
# ASan and UBSan in build-fuzz/, then FUZZ_SECONDS seconds per harness. Any crash,
# timeout or leak fails the target and leaves the input in build-fuzz/artifacts/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz-deps:
	@scripts/install-deps.sh libclang-rt-19-dev zlib1g-dev

$(FUZZ_BUILD)/build.ninja: | fuzz-deps
	cmake -S fuzz -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++-19

fuzz-build: fuzz-deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_BUILD)

fuzz-ci:
	$(MAKE) fuzz FUZZ_SECONDS=20

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-sanitize $(FUZZ_BUILD)
