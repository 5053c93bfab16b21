#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's first command: set up everything, boot the project's kernel in QEMU and
# run the main job (scripts/guest/demo.sh: a download through the MPTCP proxy over wifi
# and cellular, wifi lost and regained midway), printing what happens. Options are
# passed to the demo (scripts/main.sh --help). Writes out/demo/demo.csv (per second),
# out/demo/demo-ticks.csv (per 100 ms) and the plot out/demo/throughput.png.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
case "${1:-}" in
-h|--help) sed -n '3,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$TOP/scripts/guest/demo.sh"; exit 0 ;;
esac
"$TOP/scripts/build-all.sh" > /dev/null
out="$TOP/out/demo"
rm -rf "$out"; mkdir -p "$out"
rc=0
"$TOP/scripts/qemu-run.sh" --timeout 900 --out "$out" -- bash /guest/demo.sh "$@" || rc=$?
if [ -s "$out/demo.csv" ]; then
	gnuplot -e "dir='$out'" "$TOP/scripts/plot/demo.gp" && log "plot: $out/throughput.png"
fi
log "demo output files in $out"
exit $rc
