# The README's commands. CMake does the building; this file only names the steps.
#   make demo   — install what is missing, build, run trimtab on examples/ against the local AWS simulator
#   make test   — install what is missing, build (plain and ASan+UBSan), run every test through ctest,
#                 and build what users build (Release -O3 with gcc, clang) and run their unit tests
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
RELEASE_BUILD ?= build-release
CLANG_BUILD ?= build-clang
# The release build's own static libcurl, libmicrohttpd and libxml2 (scripts/lean-deps.sh).
LEAN_DEPS ?= build-lean-deps
FUZZ_SECONDS ?= 600
# What installs the build's packages (deploy/Dockerfile passes "scripts/deps.sh --build") and
# extra CMake arguments (the Dockerfile passes -DTT_TESTS=OFF).
DEPS ?= scripts/deps.sh
CMAKE_ARGS ?=

.PHONY: all deps lean-deps build build-asan build-release build-clang test test-plain test-asan test-builds demo fuzz format format-check crds clean

all: build

deps:
	@$(DEPS)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTT_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

lean-deps: deps
	@scripts/lean-deps.sh $(LEAN_DEPS)

# The builds a user would make: each optimiser and compiler warns about different things, and
# warnings are errors in all of them. Their unit tests run too (the integration suites already
# run in the plain and sanitizer builds). The release build is what the image ships: -O3, its
# libraries linked statically, the lean ones of lean-deps, so it maps no library but libc; its
# "release" tests check that and run the product against the simulators.
build-release: lean-deps
	@cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release -DTT_LEAN_DEPS=$(abspath $(LEAN_DEPS)) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(RELEASE_BUILD) -j $(JOBS)

build-clang: deps
	@CC=clang cmake -S . -B $(CLANG_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(CLANG_BUILD) -j $(JOBS)

test-builds: build-release build-clang
	@ctest --test-dir $(RELEASE_BUILD) --output-on-failure -j $(JOBS) -L 'unit|release'
	@ctest --test-dir $(CLANG_BUILD) --output-on-failure -j $(JOBS) -L unit

test-plain: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: build-asan
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

test: test-plain test-asan test-builds

demo: build
	@scripts/demo.sh $(BUILD)/cmd/trimtab

# One libFuzzer run per target for FUZZ_SECONDS (clang); findings land in fuzz-out/.
fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTT_FUZZ=ON -DTT_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

# The chart and the kustomize base carry copies of crds/ (tests keep them identical).
crds: build
	@$(BUILD)/tools/gencrd crds
	@cp crds/*.yaml helm/trimtab/crds/
	@cp crds/*.yaml deploy/crds/

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(RELEASE_BUILD) $(CLANG_BUILD) $(LEAN_DEPS)
