# moxing: `make run` and `make test` work on a fresh Debian 12 machine.
MODEL  ?= ../shared/models/stories260K.gguf
PROMPT ?= Once upon a time
N      ?= 128
JOBS   ?= $(shell nproc)
# The fuzz stage's whole budget, split across the fuzz targets (scripts/run_fuzzers.sh):
# 300 s over 12 targets is 25 s each; run longer by hand with FUZZ_SECONDS=3600.
FUZZ_SECONDS ?= 300

PREFIX ?= /usr/local
BIN := build/release/moxing

.PHONY: all setup setup-build build build-cli run install package test test-release test-sanitize build-sanitize fuzz bench clean

all: build

# What building needs; `setup` adds what the tests need (clang, Chromium, Node.js, Python).
setup-build:
	@bash scripts/setup.sh build

setup:
	@bash scripts/setup.sh

# The moxing binary alone: `make run` compiles what it runs, not the test suite.
build-cli: setup-build
	@cmake --preset release > /dev/null
	@cmake --build --preset release -j $(JOBS) --target moxing

# Everything: the binary, the tests and the micro-benchmarks.
build: setup
	@cmake --preset release > /dev/null
	@cmake --build --preset release -j $(JOBS)

run: build-cli
	$(BIN) run -m "$(MODEL)" -p "$(PROMPT)" -n $(N)

# The binary, its man pages (when help2man is there) and the docs under $(PREFIX);
# DESTDIR stages them under another root: make install PREFIX=/usr DESTDIR=/tmp/stage
install: build-cli
	@cmake --build --preset release -j $(JOBS) --target moxing_man
	DESTDIR="$(DESTDIR)" cmake --install build/release --prefix "$(PREFIX)"

# The Debian package with the systemd service: build/release/moxing_<version>_<arch>.deb
package: build-cli
	@command -v help2man > /dev/null && command -v dpkg-shlibdeps > /dev/null || \
	  { echo "package needs help2man and dpkg-dev (scripts/setup.sh installs them)" >&2; exit 1; }
	@cmake --build --preset release -j $(JOBS) --target moxing_man
	cd build/release && cpack -G DEB

test: setup test-release test-sanitize

test-release: build
	cd build/release && ctest --output-on-failure -j $(JOBS)

# One clang build with AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage
# instrumentation serves both stages: every test again under the sanitizers, then the fuzz
# targets (linked from the same libraries). One build instead of two saves a full compile of
# the library; -g1 (line tables) is all the sanitizers' file:line stacks need.
#
# The tests leave out the golden-logit runs of each KV cache type (CacheTypes/*): the same
# forward pass as the goldens, whose attention kernels for every cache type tests/kernels
# checks here.
test-sanitize: setup build-sanitize
	cd build/sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -E '^CacheTypes/'
	@bash scripts/run_fuzzers.sh build/sanitize $(FUZZ_SECONDS)

build-sanitize: setup
	@cmake --preset sanitize > /dev/null
	@cmake --build --preset sanitize -j $(JOBS)

# The fuzz targets alone, e.g. for an hour: make fuzz FUZZ_SECONDS=3600
fuzz: build-sanitize
	@bash scripts/run_fuzzers.sh build/sanitize $(FUZZ_SECONDS)

bench: build
	build/release/moxing_bench

clean:
	rm -rf build
