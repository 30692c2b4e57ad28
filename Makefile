# SPDX-License-Identifier: Apache-2.0
# User-facing targets. `make run` starts the virtual HSM, `make test` runs
# every test; both install missing Debian packages first (tools/deps.sh).

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 300
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

SIM = $(BUILD)/release/ports/host/fusekey-sim

.PHONY: all build run test test-release test-asan test-fuzz test-m33 cross firmware fuzz bench bench-m33 \
        deps deps-firmware clean

# The Cortex-M33 builds (docs/testing.md, "On a Cortex-M33 (QEMU)").
M33_TOOLCHAIN = -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm-none-eabi.cmake
PYTHON3 ?= python3

all: build

deps:
	@sh tools/deps.sh

deps-firmware:
	@sh tools/deps.sh --firmware

build: deps
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)/release -j$(JOBS)

run: build
	@sh tools/run.sh $(SIM)

# Every test, three times: a normal build, an ASan+UBSan build, and the
# libFuzzer targets (clang) for a short smoke run each; then the core's
# tests cross-compiled for the Cortex-M33 and run under QEMU.
test: deps test-release test-asan test-fuzz test-m33

test-release:
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)/release -j$(JOBS)
	cd $(BUILD)/release && ctest $(CTEST_FLAGS)

test-asan:
	cmake -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DFK_SANITIZE=ON
	cmake --build $(BUILD)/asan -j$(JOBS)
	cd $(BUILD)/asan && ctest $(CTEST_FLAGS)

test-fuzz:
	CC=clang cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DFK_FUZZ=ON
	cmake --build $(BUILD)/fuzz -j$(JOBS)
	cd $(BUILD)/fuzz && ctest $(CTEST_FLAGS)

# The Cortex-M33 build (build/rp2350): the firmware image and its UF2, the
# core's tests and the crypto benchmarks for QEMU. The host build comes
# first: its fusekey writes the UF2 and checks the image.
CROSS = $(BUILD)/rp2350

cross: deps-firmware build
	cmake -S . -B $(CROSS) $(M33_TOOLCHAIN) -DCMAKE_BUILD_TYPE=Release \
	  -DFK_HOST_BUILD=$(abspath $(BUILD)/release)
	cmake --build $(CROSS) -j$(JOBS)

# The core's tests on the Cortex-M33 (label m33) and the firmware's checks
# (label firmware: size and stack budgets, the UF2 booting on the bootrom
# model, signed and unsigned).
test-m33: cross
	cd $(CROSS) && ctest $(CTEST_FLAGS) -L 'm33|firmware'

# The RP2350 firmware: build/rp2350/fusekey.elf and fusekey.uf2, with the
# size report checked against tools/fw/budget.conf.
firmware: cross
	@$(PYTHON3) tools/fw/size_report.py $(CROSS)/fusekey.map tools/fw/budget.conf --top 12 \
	  --elf $(CROSS)/fusekey.elf
	@echo "firmware: $(CROSS)/fusekey.elf and $(CROSS)/fusekey.uf2 (docs/rp2350.md: flashing)"

# The longer fuzz run: FUZZ_SECONDS per target.
fuzz: deps
	CC=clang cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DFK_FUZZ=ON \
	  -DFK_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(BUILD)/fuzz -j$(JOBS)
	cd $(BUILD)/fuzz && ctest --output-on-failure -j1 -L fuzz
	cmake -S . -B $(BUILD)/fuzz -DFK_FUZZ_SECONDS=15

bench: build bench-m33
	@sh bench/run.sh $(BUILD)/release
	@sh bench/run_keys.sh $(BUILD)/release
	@/usr/bin/python3 bench/bench_fido.py --sim $(BUILD)/release/ports/host/fusekey-sim

# The crypto module's cost on the Cortex-M33, in instructions under QEMU.
bench-m33: cross
	@sh bench/m33/run.sh $(CROSS)

clean:
	rm -rf $(BUILD)
