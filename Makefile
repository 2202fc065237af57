# KernelBench: the README's two commands are `make run` and `make test`.
# Each installs what is missing (scripts/install-deps.sh) and builds.

SWIFT ?= swift

.PHONY: run test deps build release test-swift test-ckernels microbench clean

## Runs kernelbench's default suite (release build).
run: deps
	$(SWIFT) run -c release kernelbench

## Runs every test: Swift tests, the C kernel tests (native and NEON under
## qemu-aarch64), and a tiny filtered Google Benchmark run checked for valid JSON.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	bash scripts/test-ckernels.sh
	bash scripts/test-microbench.sh

deps:
	@bash scripts/install-deps.sh

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
