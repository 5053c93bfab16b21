#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything both README commands need: toolchain, kernel (cached), the module, the
# selftest programs. Prints the kernel directory on stdout. With --debug, also the debug
# kernel (cached) and the module built for it, in $DEBUG_MODULE_DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
"$TOP/scripts/setup-toolchain.sh" >&2
KDIR=$("$TOP/scripts/build-kernel.sh")
log "building mptcp_proxy.ko against $KDIR"
make -s -C "$TOP" modules KDIR="$KDIR" >&2 || die "module build failed"
make -s -C "$TOP/selftests" >&2 || die "selftest programs failed to build"
if [ "${1:-}" = --debug ]; then
	DKDIR=$("$TOP/scripts/build-kernel.sh" --debug)
	log "building mptcp_proxy.ko against the debug kernel $DKDIR (in $DEBUG_MODULE_DIR)"
	mkdir -p "$DEBUG_MODULE_DIR"
	rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '.*.cmd' \
		--exclude '*.mod*' --exclude '*.rmeta' --exclude '*.d' \
		"$TOP/rust/" "$DEBUG_MODULE_DIR/rust/"
	cp "$TOP/Kbuild" "$DEBUG_MODULE_DIR/"
	make -s -C "$DKDIR" M="$DEBUG_MODULE_DIR" "${KMAKE_TOOLS_LLVM[@]}" modules >&2 ||
		die "module build for the debug kernel failed"
fi
echo "$KDIR"
