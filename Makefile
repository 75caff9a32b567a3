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

.PHONY: all deps configure build test demo bench format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@DLC=$(DLC) scripts/demo.sh

# Benchmark against PyTorch and the FMA peak (bench/README.md). PyTorch gets an
# optimised BLAS (OpenBLAS, OpenMP build): Debian's default reference BLAS is 50x slower.
bench: build
	scripts/install-deps.sh python3-torch libopenblas0-openmp
	/usr/bin/python3 bench/run.py --build $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-sanitize
