#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything both README commands need: toolchain, kernel (cached), the module, the
# selftest programs. Prints the kernel directory on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
"$TOP/scripts/setup-toolchain.sh" >&2
KDIR=$("$TOP/scripts/build-kernel.sh")
log "building mptcp_proxy.ko against $KDIR"
make -s -C "$TOP" modules KDIR="$KDIR" >&2 || die "module build failed"
make -s -C "$TOP/selftests" >&2 || die "selftest programs failed to build"
echo "$KDIR"
