#!/bin/sh
# The 16-core device run's idle-yield experiment (BENCHMARKS.md, "16
# cores"): the cross-cluster round trip with the idle cores yielding to
# Go's scheduler as they poll (the kernel's way) and not yielding
# (-idle.yield=false), interleaved, beside the cache-line bounce, and with
# GOMAXPROCS=2 as on the 2-CPU VM. Build the kernel's
# test binary first in the checkout the machine copies, and carry it:
#   CGO_ENABLED=0 go test -c -pgo=cmd/keyfish/default.pgo -o kdev.test ./kernel
# Reports go to $OUT (default: the current directory). About 20 s.
OUT=${OUT:-.}
b() { ./kdev.test -test.run '^$' -test.benchtime 200000x "$@"; }
for round in 1 2 3; do
	for y in true false; do
		b -test.bench 'CrossClusterRoundTrip$' -test.count 3 -idle.yield=$y | sed -n "s/^Benchmark/yield=$y &/p"
	done
	b -test.bench 'CacheLineBounce$' -test.count 3 | sed -n 's/^Benchmark/&/p'
	GOMAXPROCS=2 b -test.bench 'CrossClusterRoundTrip$' -test.count 3 | sed -n 's/^Benchmark/gomaxprocs=2 &/p'
done 2>&1 | tee "$OUT/idle-16.txt"
