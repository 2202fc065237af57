# KernelBench: the README's two commands are `make run` and `make test`.
# Each installs what is missing (scripts/install-deps.sh) and builds.

SWIFT ?= swift

.PHONY: run test deps build release test-swift test-ckernels microbench clean

## Runs kernelbench's default suite (release build).
run: deps
	$(SWIFT) run -c release kernelbench

## Runs every test: Swift tests, then the C kernel tests (native and NEON under qemu-aarch64).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	bash scripts/test-ckernels.sh

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

clean:
	rm -rf .build .build-*
