#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmarks (scripts/guest/bench.sh) in QEMU: mptcp_proxy and HAProxy against the
# routed baseline, every figure a median of several runs in one guest, with ratios.
# Regenerates Documentation/benchmarks-results.rst (and keeps the raw samples in
# out/bench/). Takes about 10 minutes with the defaults.
#
#   scripts/bench.sh [--runs N] [--secs S] [--procs P] [--idle N] [--tests LIST]
#   scripts/bench.sh --tests profile     (perf profiles of the relays, in out/bench/)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# The test kernel has kmemleak for the leak checks; it records a stack trace for every
# allocation (every skb), which would weigh on every figure here.
export MPTCP_PROXY_APPEND="${MPTCP_PROXY_APPEND:-} kmemleak=off"
need_root
"$TOP/scripts/build-all.sh" > /dev/null
out="$TOP/out/bench"
rm -rf "$out"; mkdir -p "$out"
# --tests profile: copy perf into the guest, keep the profiles, leave the results alone.
case " $* " in
*" profile "*)
	MPTCP_PROXY_PERF=1 "$TOP/scripts/qemu-run.sh" --timeout 1200 --out "$out" -- bash /guest/bench.sh "$@"
	log "profiles: $out/profile-*.txt"
	exit 0 ;;
esac
"$TOP/scripts/qemu-run.sh" --timeout 3000 --out "$out" -- bash /guest/bench.sh "$@"
[ -s "$out/bench.tsv" ] || die "no results (see the output above)"
MP_BENCH_ACCEL=$(cat "$CACHE"/kvm-probe."$(cat /proc/sys/kernel/random/boot_id)" 2>/dev/null || echo tcg) \
	"$TOP/scripts/bench-report.sh" "$out" > "$TOP/Documentation/benchmarks-results.rst"
log "results: Documentation/benchmarks-results.rst (raw samples in $out)"
