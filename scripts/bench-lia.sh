#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# lia benchmarks in QEMU (scripts/guest/bench-lia.sh); variables RUNS, SECS, RAMP_MBIT
# and DELAY are passed to the guest. Output also in out/bench-lia.txt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
"$TOP/scripts/build-all.sh" > /dev/null
mkdir -p "$TOP/out"
"$TOP/scripts/qemu-run.sh" --timeout 1800 -- env RUNS="${RUNS:-3}" SECS="${SECS:-8}" \
	RAMP_MBIT="${RAMP_MBIT:-1000}" DELAY="${DELAY:-5}" bash /guest/bench-lia.sh |
	grep -v '^\[' | tee "$TOP/out/bench-lia.txt"
