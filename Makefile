# KernelBench: the README's two commands are `make run` and `make test`.
# Each installs what is missing (scripts/install-deps.sh) and builds.

SWIFT ?= swift

.PHONY: run test deps build release test-swift test-ckernels microbench clean peers test-peers

## Runs kernelbench's default suite (release build).
run: deps
	$(SWIFT) run -c release kernelbench

## Runs every test: Swift tests, the committed fuzz corpora replayed through
## every parser, the C kernel tests (native, native under ASan + UBSan, NEON
## under qemu-aarch64, AVX-512 rows in portable C where the CPU lacks
## AVX-512), and a tiny filtered Google Benchmark run checked
## for valid JSON.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory fuzz-replay
	bash scripts/test-ckernels.sh
	bash scripts/test-microbench.sh

## Replays Tests/fuzz/seeds and Tests/fuzz/corpus through each parser's fuzz
## target (ordinary debug build): every input must end in a value or a typed error.
fuzz-replay:
	@SWIFT="$(SWIFT)" bash scripts/fuzz.sh --replay

# ---- Robustness (opt-in; see reports/robustness.md) --------------------------

.PHONY: fuzz-replay fuzz sanitize robustness

## libFuzzer with ASan on every parser, one million inputs each (about 50 min on 2 cores;
## the report target, which renders HTML for every input, takes 35 of them).
fuzz: deps
	bash scripts/fuzz.sh --runs 1000000

## Whole test suite under ASan (+ UBSan in C), driver tests under TSan, C kernels under ASan + UBSan.
sanitize: deps
	bash scripts/sanitize.sh

## Everything above: what reports/robustness.md records.
robustness: sanitize fuzz

deps:
	@bash scripts/install-deps.sh

# ---- Peers: vendor libraries measured beside KernelBench (run --peers) ------

## Installs Intel MKL from PyPI (package mkl) into the git-ignored .peers/venv
## and prints the KERNELBENCH_MKL=... to set (also written to .peers/env).
peers: deps
	@bash scripts/install-peers.sh

## The peer tests with the library `make peers` installed (CI=1: a missing
## library fails them instead of skipping them).
test-peers: peers
	$(SWIFT) build --build-tests
	@set -a && . ./.peers/env && set +a && $(SWIFT) test --skip-build --filter PeerTests

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test-swift: deps
	$(SWIFT) test

test-ckernels: deps
	bash scripts/test-ckernels.sh

## A short Google Benchmark run over the LeNet-300-100 layers (see README for filters).
microbench: deps
	$(SWIFT) run -c release microbench --shapes=lenet300100 --sparsities=90 --ns=1,64 --cache=warm --benchmark_min_time=0.05

clean:
	rm -rf .build .build-*

# ---- Performance regression checks (kernelbench compare) --------------------

# Empty: the committed baseline of this machine's class,
# reports/baselines/timing-$(kernelbench list --machine-class).json (e.g. timing-zen4-2core.json),
# skipped with a notice when there is none. A file named here must exist.
TIMING_BASELINE ?=

.PHONY: perf-gate perf-check

## Deterministic gate: instruction counts of fixed single-thread kernel cases under
## callgrind vs reports/baselines/instructions-<arch>.json; fails beyond 2%.
perf-gate: deps
	bash scripts/instruction-gate.sh

## Timing suite (9 repetitions) vs the committed timing baseline of this machine's
## class (a Zen 3 run is never compared with a Zen 4 baseline); writes
## reports/local/regression.md. Report only: never fails on timing noise.
perf-check: deps
	@class=$$($(SWIFT) run -c release kernelbench list --machine-class) || { \
	  echo "perf-check: could not build or run kernelbench (see the errors above)" >&2; exit 1; }; \
	baseline="$(TIMING_BASELINE)"; \
	if [ -n "$$baseline" ]; then \
	  if [ ! -f "$$baseline" ]; then \
	    echo "perf-check: TIMING_BASELINE=$$baseline: no such file (a baseline named explicitly must exist)" >&2; \
	    exit 1; \
	  fi; \
	else \
	  baseline="reports/baselines/timing-$$class.json"; \
	  if [ ! -f "$$baseline" ]; then \
	    echo "perf-check: no timing baseline $$baseline for this machine class ($$class); nothing to compare (exit 0)"; \
	    exit 0; \
	  fi; \
	fi; \
	echo "perf-check: machine class $$class, baseline $$baseline"; \
	$(SWIFT) run -c release kernelbench run --suite ci --repetitions 9 --output reports/local/ci-timing.json --force && \
	$(SWIFT) run -c release kernelbench compare "$$baseline" reports/local/ci-timing.json \
	  --report reports/local/regression.md --force --report-only
