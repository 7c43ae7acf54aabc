#!/bin/sh
# The 16-core device run of BENCHMARKS.md ("16 cores"). Build the binary
# first in the checkout the machine copies (it is ignored by git, so carry
# it):  CGO_ENABLED=0 go build -o keyfish ./cmd/keyfish
# then run this script there; reports go to $OUT (default: the current
# directory). About 40 s on 16 cores.
OUT=${OUT:-.}
set -x
nproc; lscpu | sed -n 1,25p; cat /proc/loadavg
./keyfish version
timeout 330 ./keyfish bench -run 'scaling|queues|pingpong|call/cross-cluster|flood' -cores 1,2,4,8,16 -json > "$OUT/scaling-16.json" 2> "$OUT/scaling-16.log"
./keyfish bench -from "$OUT/scaling-16.json"
timeout 180 ./keyfish bench -run 'call/native|call/rv64|call/kinds|wake|interp|fault|bank|migrate' -qemu - -json > "$OUT/rest-16.json" 2> "$OUT/rest-16.log"
./keyfish bench -from "$OUT/rest-16.json"
