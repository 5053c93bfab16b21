#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the upstream MPTCP selftests that ship with the kernel source
# (tools/testing/selftests/net/mptcp/) in QEMU, once with cubic and once with lia as the
# default congestion control, and compare.
#
#   scripts/upstream-mptcp.sh [--debug] [TEST...]
#                                 (default: simult_flows.sh mptcp_connect.sh)
#
# UPSTREAM_CCS="lia" (say) runs only those congestion controls (default "cubic lia");
# UPSTREAM_TIMEOUT overrides the upstream per-test timeout (seconds); UPSTREAM_TRACE=SECS
# samples every SECS the TCP sockets (cwnd, ssthresh) and lia couplings of the running
# mptcp_connect processes into out/upstream-mptcp-trace/trace-CC-TEST.txt.
# --debug runs them on the debug kernel (scripts/build-kernel.sh --debug: KASAN,
# lockdep, ...), where timing checks such as simult_flows.sh's are distorted: look at
# its functional tests and at the splats.
#
# On the host: builds the kernel tree's uapi headers if they are missing (make headers),
# compiles the upstream helper programs (mptcp_connect, pm_nl_ctl, mptcp_sockopt,
# mptcp_inq; gcc -static) into out/upstream-mptcp/net/mptcp/ and copies the upstream
# scripts next to them, unmodified, with the layout they expect (net/mptcp/*.sh,
# net/lib.sh, net/net_helper.sh). The directory becomes /extra in the guest
# (MPTCP_PROXY_EXTRA_DIR of scripts/qemu-run.sh), where scripts/guest/upstream-mptcp.sh
# runs every test with cubic, then with lia, in one boot, prints a table and the line
# "upstream: N passed, N failed, N skipped". Exits non-zero if a test that passes with
# cubic fails with lia, or if the lia default or the module unload cannot be verified.
# The console output is also kept in out/upstream-mptcp.log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

debug=()
if [ "${1:-}" = --debug ]; then
	debug=(--debug)
	shift
fi
KDIR=$("$TOP/scripts/build-all.sh" "${debug[@]}")
UP="$KDIR/tools/testing/selftests/net"
[ -f "$UP/mptcp/mptcp_connect.c" ] || die "no upstream MPTCP selftests in $UP/mptcp"

# The helper programs include <linux/mptcp.h> and friends from the kernel's uapi.
if [ ! -f "$KDIR/usr/include/linux/mptcp.h" ]; then
	log "installing the kernel's uapi headers into $KDIR/usr/include (make headers)"
	make -s -C "$KDIR" ARCH=x86_64 "${KMAKE_TOOLS[@]}" headers >&2 || die "make headers failed"
fi

dest="$TOP/out/upstream-mptcp"
rm -rf "$dest"
mkdir -p "$dest/net/mptcp"
for prog in mptcp_connect pm_nl_ctl mptcp_sockopt mptcp_inq; do
	log "compiling $prog.c"
	# (the linker's warning about getaddrinfo in a static program is expected: the
	# tests only pass numeric addresses, which need no NSS module)
	cc_out=$(gcc -static -O2 -Wall -Wl,--no-as-needed -I"$KDIR/usr/include" \
		-o "$dest/net/mptcp/$prog" "$UP/mptcp/$prog.c" 2>&1) ||
		{ echo "$cc_out" >&2; die "compiling $prog.c failed"; }
done
# The scripts, unmodified: every test of the directory (so any of them can be named on
# the command line), mptcp_lib.sh, settings, and what mptcp_lib.sh sources from ../.
cp "$UP"/mptcp/*.sh "$UP/mptcp/settings" "$dest/net/mptcp/"
cp "$UP/lib.sh" "$UP/net_helper.sh" "$dest/net/"
# The upstream per-test timeout, unless UPSTREAM_TIMEOUT says otherwise (the debug
# kernel needs about 4 times as long).
timeout=${UPSTREAM_TIMEOUT:-$(sed -n 's/^timeout=//p' "$UP/mptcp/settings")}

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(simult_flows.sh mptcp_connect.sh)
for t in "${tests[@]}"; do
	[ -f "$dest/net/mptcp/$t" ] || die "no upstream test $t in $UP/mptcp"
done

# Every test twice, each bounded by the upstream per-test timeout, plus boot and unload.
qemu_timeout=$(( ${#tests[@]} * 2 * timeout + 300 ))
log "running ${tests[*]} with cubic and lia in QEMU (log: out/upstream-mptcp.log)"
# The timing checks of simult_flows.sh are sensitive to other load on the host's CPUs.
log "host load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
set +e
MPTCP_PROXY_EXTRA_DIR="$dest" "$TOP/scripts/qemu-run.sh" "${debug[@]}" --timeout "$qemu_timeout" \
	--log "$TOP/out/upstream-mptcp${debug:+-debug}.log" --out "$TOP/out/upstream-mptcp-trace" -- \
	env UPSTREAM_TIMEOUT="$timeout" UPSTREAM_CCS="${UPSTREAM_CCS:-cubic lia}" \
	UPSTREAM_TRACE="${UPSTREAM_TRACE:-}" \
	bash /guest/upstream-mptcp.sh "${tests[@]}"
rc=$?
set -e
log "host load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
