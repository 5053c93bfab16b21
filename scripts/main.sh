#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's first command: set up everything, boot the project's kernel in QEMU and
# run the main job (scripts/guest/demo.sh), printing what happens. Options are passed to
# the demo (scripts/guest/demo.sh --help).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
"$TOP/scripts/build-all.sh" > /dev/null
out="$TOP/out/demo"
mkdir -p "$out"
"$TOP/scripts/qemu-run.sh" --timeout 900 --out "$out" -- bash /guest/demo.sh "$@"
log "demo output files in $out"
