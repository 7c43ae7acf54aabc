# Keyfish. Everything needs only Go except the targets marked (tools),
# which need the RISC-V cross compiler, picolibc and qemu-user: install
# them with `make tools` (Debian/Ubuntu, as root).

GO ?= go

.PHONY: all build test test-race check fuzz soak model pgo images check-images tools bench clean

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

# Run every fuzz target for FUZZTIME each, one after another. An input
# that finds new coverage is minimized for at most FUZZMINTIME: with Go's
# default of a minute, the targets that boot a whole machine per input
# spend long stretches at "0 execs/sec" minimizing. Go 1.26's fuzz
# coordinator sometimes fails a target with a bare "context deadline
# exceeded" as -fuzztime runs out (golang/go#75804, fixed in Go 1.27):
# such a failure that wrote no failing input is reported and passed over;
# any other failure stops the run.
FUZZTIME ?= 1m
FUZZMINTIME ?= 10s
fuzz:
	$(GO) test -list '^Fuzz' ./... | \
	awk '/^Fuzz/ { f[n++] = $$1 } /^ok/ { for (i = 0; i < n; i++) print $$2, f[i]; n = 0 }' | \
	while read pkg fn; do \
		echo "== $$pkg $$fn"; \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg)/testdata/fuzz/$$fn; \
		before=$$(ls $$dir 2>/dev/null | wc -l); \
		out=$$(mktemp); \
		{ $(GO) test $$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME); echo $$? > $$out.rc; } 2>&1 | tee $$out; \
		rc=$$(cat $$out.rc); \
		if [ "$$rc" != 0 ]; then \
			if [ "$$(ls $$dir 2>/dev/null | wc -l)" = "$$before" ] && grep -q '^    context deadline exceeded$$' $$out; then \
				echo "== $$fn: Go's fuzz coordinator stopped on its own deadline (golang/go#75804); no failing input was written"; \
			else \
				rm -f $$out $$out.rc; exit 1; \
			fi; \
		fi; \
		rm -f $$out $$out.rc; \
	done

# The long soak: SOAK random invocations with the invariant checker after
# every round, in deterministic mode and then in parallel mode under many
# goroutines. SOAKSEED picks the invocations and the schedule.
SOAK ?= 10000000
SOAKSEED ?= 1
soak:
	$(GO) test ./hostile -run '^TestSoak$$' -count=1 -timeout 120m -soak.invocations=$(SOAK) -soak.seed=$(SOAKSEED)
	$(GO) test ./hostile -run '^TestSoak$$' -count=1 -timeout 120m -soak.invocations=$(SOAK) -soak.seed=$(SOAKSEED) -soak.parallel

# The kernel's state-machine test against its reference model, longer
# than in `make test`: MODELSTEPS steps a run, MODELCHECKS runs.
MODELSTEPS ?= 100000
MODELCHECKS ?= 10
model:
	$(GO) test ./kernel -run '^TestKernelStateMachine$$' -count=1 -timeout 60m -model.steps=$(MODELSTEPS) -rapid.checks=$(MODELCHECKS)

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

# Regenerate cmd/keyfish/default.pgo, the profile the keyfish command is
# built with (Go's profile-guided optimization): CPU profiles of the
# benchmark suite and of three demo boots, taken with a build that uses no
# profile, merged. Build with -pgo=off to compare.
pgo:
	tmp=$$(mktemp -d) && \
	$(GO) build -pgo=off -o $$tmp/keyfish ./cmd/keyfish && \
	$$tmp/keyfish bench -q -cpuprofile $$tmp/bench.pprof > /dev/null && \
	for i in 1 2 3; do $$tmp/keyfish boot -cpuprofile $$tmp/boot$$i.pprof > /dev/null || exit 1; done && \
	$(GO) tool pprof -proto $$tmp/bench.pprof $$tmp/boot1.pprof $$tmp/boot2.pprof $$tmp/boot3.pprof > cmd/keyfish/default.pgo && \
	rm -rf $$tmp

clean:
	$(MAKE) -C sdk clean
