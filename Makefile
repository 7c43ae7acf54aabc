# Keyfish. Everything needs only Go except the targets marked (tools),
# which need the RISC-V cross compiler, picolibc and qemu-user: install
# them with `make tools` (Debian/Ubuntu, as root).

GO ?= go

.PHONY: all build test test-race check images check-images tools bench clean

all: build

build:
	$(GO) build ./...

# The README's test command.
test:
	$(GO) test ./...

# The concurrency tests in parallel mode under the race detector.
test-race:
	$(GO) test -race -short ./kernel/... ./system/... ./internal/... ./hostile/...

# Everything CI checks, with the tools required (not skipped).
check:
	test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	KEYFISH_REQUIRE_TOOLS=1 $(GO) test ./...
	$(MAKE) test-race

# (tools) Rebuild the committed RISC-V images: the SDK examples and the
# simulator's test programs.
images:
	$(MAKE) -C sdk
	$(MAKE) -C internal/rv64/testdata

# (tools) Check that rebuilding gives exactly the committed images.
check-images:
	$(MAKE) -C sdk check-images
	$(MAKE) -C sdk test-linux

# Install the tools (Debian/Ubuntu, as root).
tools:
	apt-get update
	apt-get install -y gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-user make

bench:
	$(GO) run ./cmd/keyfish bench

clean:
	$(MAKE) -C sdk clean
