#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest: upstream's simult_flows.sh run N times with each congestion control of
# SF_CCS, interleaved (run 1 with each, then run 2, ...), in one boot; then a summary:
# each sub-test's times and misses per congestion control. SF_ONLY=1 runs a copy of the
# script that keeps only the "unbalanced bwidth" sub-tests (5 and 6, about 35 s a run
# instead of 140). Expects the upstream scripts under /extra/net/mptcp, as
# scripts/upstream-mptcp.sh prepares them in out/upstream-mptcp (see
# Documentation/building-and-testing.rst, "Upstream MPTCP selftests"):
#
#   UPSTREAM_CCS=lia scripts/upstream-mptcp.sh simult_flows.sh
#   cp -a out/upstream-mptcp /tmp/sf && cp scripts/guest/simult-flows-loop.sh /tmp/sf/
#   MPTCP_PROXY_EXTRA_DIR=/tmp/sf scripts/qemu-run.sh --timeout 3000 -- \
#       env N=10 SF_ONLY=1 bash /extra/simult-flows-loop.sh
set -u
N=${N:-5}
read -ra CCS <<< "${SF_CCS:-lia cubic}"
insmod /lib/modules/mptcp_proxy.ko || exit 1
cd /extra/net/mptcp || exit 1
script=simult_flows.sh
if [ "${SF_ONLY:-0}" = 1 ]; then
	# A copy next to the original (it sources mptcp_lib.sh from its own directory).
	sed -e '/^run_test 10 10 /d' -e '/^run_test 10 3 1 25/d' -e '/^run_test 10 3 25 1/d' \
		simult_flows.sh > sf_only.sh
	script=sf_only.sh
fi
log=/tmp/sf-loop.log
: > $log
for i in $(seq "$N"); do
	for cc in "${CCS[@]}"; do
		sysctl -qw net.ipv4.tcp_allowed_congestion_control="reno cubic lia olia" \
			net.ipv4.tcp_congestion_control="$cc"
		bash "./$script" 2>&1 | grep --line-buffered -E '^ ?[0-9]+ .*(bwidth|delay)' |
			sed -u "s/^/SF run=$i cc=$cc /" | tee -a $log
	done
done
# Lines: "SF run=I cc=CC NN name... TIME max LIMIT [ OK ]" or "... runtime T ms, ...".
echo "# summary: sub-test, congestion control, passed/runs, times (s; * = missed)"
awk '{
	cc = substr($3, 4); st = $4
	if (match($0, /runtime [0-9]+ ms/)) { t = substr($0, RSTART + 8, RLENGTH - 11); miss = 1 }
	else if (match($0, /[0-9]+ +max /)) { t = substr($0, RSTART, RLENGTH); sub(/ +max /, "", t); miss = 0 }
	else next
	key = st " " cc; n[key]++; if (!miss) ok[key]++
	times[key] = times[key] sprintf(" %.2f%s", t / 1000, miss ? "*" : "")
} END { for (k in n) printf "# %s %d/%d%s\n", k, ok[k], n[k], times[k] }' $log | sort
sysctl -qw net.ipv4.tcp_congestion_control=cubic
rmmod mptcp_proxy
