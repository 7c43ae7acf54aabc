#!/bin/sh
# One device run: the 16-core figures for BENCHMARKS.md.
set -x
nproc; lscpu | sed -n 1,25p; cat /proc/loadavg; free -g
./keyfish version
timeout 330 ./keyfish bench -run 'scaling|queues|pingpong|call/cross-cluster|flood' -cores 1,2,4,8,16 -json > $OUT/scaling-16.json 2> $OUT/scaling-16.log
echo rc=$?
./keyfish bench -from $OUT/scaling-16.json
cat /proc/loadavg
timeout 180 ./keyfish bench -run 'call/native|call/rv64|call/kinds|wake|interp|fault|bank|migrate' -qemu - -json > $OUT/rest-16.json 2> $OUT/rest-16.log
echo rc=$?
./keyfish bench -from $OUT/rest-16.json
