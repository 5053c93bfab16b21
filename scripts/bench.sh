#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmarks (scripts/guest/bench.sh) in QEMU: mptcp_proxy and HAProxy against the
# routed baseline, every figure a median of several runs in one guest, with ratios.
# Regenerates Documentation/benchmarks-results.rst (and keeps the raw samples in
# out/bench/). Takes about 10 minutes with the defaults.
#
#   scripts/bench.sh [--runs N] [--secs S] [--procs P] [--idle N]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
"$TOP/scripts/build-all.sh" > /dev/null
out="$TOP/out/bench"
rm -rf "$out"; mkdir -p "$out"
"$TOP/scripts/qemu-run.sh" --timeout 3000 --out "$out" -- bash /guest/bench.sh "$@"
[ -s "$out/bench.tsv" ] || die "no results (see the output above)"
MP_BENCH_ACCEL=$(cat "$CACHE"/kvm-probe."$(cat /proc/sys/kernel/random/boot_id)" 2>/dev/null || echo tcg) \
	"$TOP/scripts/bench-report.sh" "$out" > "$TOP/Documentation/benchmarks-results.rst"
log "results: Documentation/benchmarks-results.rst (raw samples in $out)"
