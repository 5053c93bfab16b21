#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run in the QEMU guest by scripts/upstream-mptcp.sh: the upstream MPTCP selftests in
# /extra/net/mptcp (default: simult_flows.sh mptcp_connect.sh), first with cubic, then
# with lia as the default congestion control of the initial namespace, which every
# namespace the tests create inherits (checked in a fresh namespace before the tests).
#
#   bash /guest/upstream-mptcp.sh [TEST...]
#
# A test passes on exit 0 and is skipped on exit 4 (kselftest); anything else, a kill
# after UPSTREAM_TIMEOUT seconds, or an oops/BUG/WARNING in the kernel log is a failure.
# With lia, a passing test must also have put sockets on lia (LiaSubflowInit in some
# namespace's /proc/net/lia_stat, sampled every second during both runs); if none did,
# it counts as skipped. Prints the sub-tests whose result differs between cubic and lia,
# a table (test | cubic | lia) and "upstream: N passed, N failed, N skipped" (one result
# per test and CC). Exits non-zero if a test that passes with cubic does not pass with
# lia, if the default cannot be set and verified, or if mptcp_proxy.ko does not unload
# at the end. A test failing with both is reported as a failure of the environment, not
# of lia.
DIR=/extra/net/mptcp
MODULE=${MP_MODULE:-/lib/modules/mptcp_proxy.ko}
TIMEOUT=${UPSTREAM_TIMEOUT:-1800}
# UPSTREAM_CCS: the congestion controls to run, in order (default "cubic lia").
read -ra CCS <<< "${UPSTREAM_CCS:-cubic lia}"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(simult_flows.sh mptcp_connect.sh)
[ -d "$DIR" ] || { echo "error: $DIR missing (run scripts/upstream-mptcp.sh on the host)"; exit 1; }

tmp=$(mktemp -d)
declare -A res dur note
fatal=()
allowed0=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)

# set_default CC: make CC the default of the initial namespace and check that a new
# namespace inherits it.
set_default() {
	local cc=$1 ns got
	if [ "$cc" = lia ]; then
		grep -q '^mptcp_proxy ' /proc/modules || insmod "$MODULE" || return 1
		sysctl -qw net.ipv4.tcp_allowed_congestion_control="$allowed0 lia" || return 1
	fi
	sysctl -qw net.ipv4.tcp_congestion_control="$cc" || return 1
	ns=ccprobe-$(mktemp -u XXXXXX)
	ip netns add "$ns" || return 1
	got=$(ip netns exec "$ns" cat /proc/sys/net/ipv4/tcp_congestion_control)
	ip netns del "$ns"
	echo "# default congestion control: initial namespace $(cat /proc/sys/net/ipv4/tcp_congestion_control), new namespace $got"
	[ "$got" = "$cc" ]
}

# lia_sampler FILE: every second, the largest value of each lia counter seen in any
# process's namespace (/proc/PID/net/lia_stat) so far, into FILE.
lia_sampler() {
	local f=$1
	: > "$f"
	while :; do
		cat /proc/[0-9]*/net/lia_stat 2>/dev/null | awk -v f="$f" '
			BEGIN { while ((getline l < f) > 0) { split(l, a, " "); m[a[1]] = a[2] }; close(f) }
			{ if ($2 + 0 > m[$1] + 0) m[$1] = $2 }
			END { for (k in m) print k, m[k] > (f ".new") }'
		[ -f "$f.new" ] && mv "$f.new" "$f"
		sleep 1
	done
}
lia_max() { awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$2"; }

# trace_sampler FILE: with UPSTREAM_TRACE=SECS, every SECS the TCP sockets and the
# couplings seen by each running mptcp_connect (its namespace's /proc/net/tcp, whose
# last two fields are cwnd and ssthresh, -1 in slow start, and /proc/net/lia), each
# line prefixed with the guest's uptime and the process: one cat per process and
# sample, so that tracing costs the test little.
trace_sampler() {
	local f=$1 p t
	while :; do
		read -r t _ < /proc/uptime
		for p in $(pidof mptcp_connect); do
			cat "/proc/$p/net/tcp" "/proc/$p/net/lia" 2>/dev/null | sed "s/^/$t $p /"
		done >> "$f"
		sleep "$UPSTREAM_TRACE"
	done
}

# run_one CC TEST: run one upstream test, record its result and duration.
run_one() {
	local cc=$1 t=$2 rc t0 t1 oops spid=""
	echo "# ===== $t with $cc ====="
	dmesg -c > /dev/null
	# sampled with both CCs, so that its small cost is the same for both
	lia_sampler "$tmp/lia.$cc.$t" &
	spid=$!
	if [ -n "${UPSTREAM_TRACE:-}" ]; then
		trace_sampler "/out/trace-$cc-${t%.sh}.txt" &
		spid="$spid $!"
	fi
	t0=$(date +%s)
	(cd "$DIR" && timeout -s KILL "$TIMEOUT" bash "./$t") 2>&1 | tee "$tmp/$cc.$t.log" | sed -u "s/^/[$cc] /"
	rc=${PIPESTATUS[0]}
	t1=$(date +%s)
	kill $spid; wait $spid 2>/dev/null
	dur[$cc.$t]=$((t1 - t0))
	case $rc in
	0) res[$cc.$t]=pass ;;
	4) res[$cc.$t]=skip note[$cc.$t]="the test skipped itself" ;;
	137) res[$cc.$t]=fail note[$cc.$t]="killed after ${TIMEOUT}s" ;;
	*) res[$cc.$t]=fail note[$cc.$t]="exit $rc" ;;
	esac
	oops=$(dmesg | grep -E 'Oops|BUG:|WARNING:|Call Trace|general protection|refcount_t:' | head -5)
	if [ -n "$oops" ]; then
		dmesg | tail -60 | sed "s/^/[$cc] dmesg: /"
		res[$cc.$t]=fail note[$cc.$t]="kernel logged: $(echo "$oops" | head -1)"
	fi
	if [ "$cc" = lia ]; then
		local init coupled alpha plain
		init=$(lia_max LiaSubflowInit "$tmp/lia.$cc.$t") coupled=$(lia_max LiaSubflowCoupled "$tmp/lia.$cc.$t")
		alpha=$(lia_max LiaAlphaRecomputed "$tmp/lia.$cc.$t") plain=$(lia_max LiaPlainTcp "$tmp/lia.$cc.$t")
		echo "# lia use in $t (largest per-namespace counts seen): sockets initialised $init, subflows coupled $coupled, alpha recomputed $alpha, plain TCP $plain"
		if [ "${res[$cc.$t]}" = pass ] && [ "$init" = 0 ]; then
			res[$cc.$t]=skip note[$cc.$t]="passed, but no socket was seen on lia"
		fi
	fi
	echo "# ===== $t with $cc: ${res[$cc.$t]}${note[$cc.$t]:+ (${note[$cc.$t]})}, ${dur[$cc.$t]} s ====="
}

if grep -q '^mptcp_proxy ' /proc/modules; then
	fatal+=("mptcp_proxy.ko was loaded before the cubic run")
fi
for cc in "${CCS[@]}"; do
	if ! set_default "$cc"; then
		fatal+=("could not make $cc the inherited default congestion control")
		echo "FATAL: could not make $cc the default inherited by new namespaces; its tests are not run"
		for t in "${tests[@]}"; do res[$cc.$t]=fail note[$cc.$t]="not run: default not $cc" dur[$cc.$t]=0; done
		continue
	fi
	for t in "${tests[@]}"; do run_one "$cc" "$t"; done
done

# Back to cubic, then unload the module: it must not be pinned by anything the tests did.
sysctl -qw net.ipv4.tcp_congestion_control=cubic
sysctl -qw net.ipv4.tcp_allowed_congestion_control="$allowed0"
t0=$(date +%s)
unloaded=0
for i in $(seq 300); do
	grep -q '^mptcp_proxy ' /proc/modules || { unloaded=1; break; }
	rmmod mptcp_proxy 2>/dev/null && { unloaded=1; break; }
	sleep 0.1
done
if [ $unloaded = 1 ] && ! grep -qw lia /proc/sys/net/ipv4/tcp_available_congestion_control; then
	echo "# rmmod mptcp_proxy: ok after $(($(date +%s) - t0)) s"
else
	echo "FATAL: rmmod mptcp_proxy failed after $(($(date +%s) - t0)) s (refcnt $(cat /sys/module/mptcp_proxy/refcnt 2>/dev/null))"
	fatal+=("rmmod mptcp_proxy failed")
fi

# Sub-tests reported "not ok" or ignored as flaky, per run.
echo
for cc in "${CCS[@]}"; do
	for t in "${tests[@]}"; do
		[ -f "$tmp/$cc.$t.log" ] || continue
		grep -E '^not ok |# IGNORE' "$tmp/$cc.$t.log" | sed "s/^/# $cc $t: /"
	done
done
# The same sub-tests compared across the two runs (from the TAP lines the upstream
# scripts print at the end): informative, not counted, since under TCG the timing
# checks of simult_flows.sh also fail with cubic (see the documentation).
subtests() {
	sed -nE 's/^(not ok|ok) [0-9]+ - (.*)$/\1\t\2/p' "$1" | awk -F'\t' '{
		st = $1 == "ok" ? "ok" : "fail"; n = $2
		if (n ~ /# SKIP/) st = "skip"; else if (n ~ /# IGNORE/) st = "ignored"
		sub(/ +#.*$/, "", n); print st "\t" n }'
}
for t in "${tests[@]}"; do
	[ -f "$tmp/cubic.$t.log" ] && [ -f "$tmp/lia.$t.log" ] || continue
	subtests "$tmp/cubic.$t.log" > "$tmp/sub.cubic"
	subtests "$tmp/lia.$t.log" > "$tmp/sub.lia"
	awk -F'\t' -v t="$t" 'NR == FNR { c[$2] = $1; next }
		c[$2] == "ok" && $1 != "ok" && $1 != "skip" { print "# " t ": sub-test ok with cubic, " $1 " with lia: " $2 }
		c[$2] != "" && c[$2] != "ok" && c[$2] != "skip" && $1 == "ok" { print "# " t ": sub-test " c[$2] " with cubic, ok with lia: " $2 }' \
		"$tmp/sub.cubic" "$tmp/sub.lia"
done

echo
printf '%-24s %-26s %-26s\n' test "${CCS[@]}"
pass=0 fail=0 skip=0 rc=0
for t in "${tests[@]}"; do
	row=()
	for cc in "${CCS[@]}"; do
		row+=("${res[$cc.$t]} (${dur[$cc.$t]} s)")
		case ${res[$cc.$t]} in
		pass) pass=$((pass + 1)) ;;
		skip) skip=$((skip + 1)) ;;
		*) fail=$((fail + 1)) ;;
		esac
	done
	printf '%-24s %-26s %-26s\n' "$t" "${row[@]}"
done
echo
for t in "${tests[@]}"; do
	c=${res[cubic.$t]} l=${res[lia.$t]}
	for cc in "${CCS[@]}"; do
		[ -n "${note[$cc.$t]:-}" ] && echo "# $t with $cc: ${note[$cc.$t]}"
	done
	if [ "$c" = pass ] && [ "$l" != pass ]; then
		echo "REGRESSION: $t passes with cubic but not with lia ($l)"
		rc=1
	elif [ "$c" = fail ] && [ "$l" = fail ]; then
		echo "ENVIRONMENT: $t fails with both cubic and lia: a failure of this environment, not of lia"
	elif [ "$c" != pass ] && [ "$l" = pass ]; then
		echo "NOTE: $t passes with lia but not with cubic ($c)"
	fi
done
for f in "${fatal[@]}"; do echo "FATAL: $f"; rc=1; done
rm -rf "$tmp"
echo "upstream: $pass passed, $fail failed, $skip skipped"
exit $rc
