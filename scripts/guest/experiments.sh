#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The papers' experiments in namespaces, run inside the QEMU guest by
# scripts/experiments.sh. Each writes per-second CSV files to /out; the host plots them.
#   fairness  one MPTCP connection (2 subflows) and one Reno TCP flow share a bottleneck;
#             the MPTCP subflows run lia, then uncoupled Reno (NSDI 2011, goal 2)
#   pooling   two disjoint paths; background Reno traffic sits on path 1, then moves to
#             path 2; lia vs uncoupled Reno (NSDI 2011, resource pooling / goal 3)
#   handover  the main job's wifi/cellular download through the proxy, wifi lost at 10 s,
#             back at 20 s, with cellular as a regular subflow and as a backup subflow
#             (MobiArch 2011 / CellNet 2012 handover modes)
#
#   experiments.sh [--secs S] [fairness] [pooling] [handover]   (default: all three)
. /selftests/lib.sh

secs=30
list=()
while [ $# -gt 0 ]; do
	case $1 in
	--secs) secs=$2; shift 2 ;;
	fairness|pooling|handover) list+=("$1"); shift ;;
	*) echo "experiments: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#list[@]} -gt 0 ] || list=(fairness pooling handover)
: > /out/experiments.tsv
MP_TMP=$(mktemp -d)
trap 'mp_cleanup; rm -rf "$MP_TMP"' EXIT
mp_module_load || exit 1
# The experiments' namespaces may default to lia.
grep -qw lia /proc/sys/net/ipv4/tcp_allowed_congestion_control ||
	sysctl -qw net.ipv4.tcp_allowed_congestion_control="$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control) lia"

# ticks FILE: "t,bytes" per tick line of an xfer -i run (bytes received, or sent if
# the side only sent).
ticks() {
	awk '$1 == "tick" { sub("t=", "", $2); sub("sent=", "", $3); sub("recv=", "", $4);
		printf "%.0f,%d\n", $2, ($4 > 0 ? $4 : $3) }' "$1"
}

# subflow_bytes NS PORT: "local_addr bytes_acked" of each TCP socket (MPTCP subflows
# included) to PORT, from ss.
subflow_bytes() {
	ip netns exec "$1" ss -Htin state established "dport = :$2" | awk '
		/^[0-9]/ || /^\[/ { split($3, a, ":"); addr = a[1]; sub("%.*", "", addr); next }
		{ if (match($0, /bytes_acked:[0-9]+/)) print addr, substr($0, RSTART + 12, RLENGTH - 12) }'
}

fairness() {
	local rate=20 delay=10 cc
	echo "== fairness: one MPTCP (2 subflows) + one Reno TCP at a $rate Mbit/s bottleneck, ${delay} ms one way, $secs s"
	mp_router_topology $rate $delay 1 || return 1
	for cc in lia reno; do
		mp_bg "$MP_TMP/fm.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -i 1000 -T $((secs + 60))
		local s1=$MP_LAST_PID
		mp_bg "$MP_TMP/ft.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 5202 -i 1000 -T $((secs + 60))
		local s2=$MP_LAST_PID
		mp_wait_listen "$MP_SRV" 5201; mp_wait_listen "$MP_SRV" 5202
		ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C $cc -t "$secs" -T $((secs + 60)) > /dev/null &
		local c1=$!
		ip netns exec "$MP_TCP" "$MP_XFER" -c $MP_SRV_ADDR -m tcp -p 5202 -C reno -t "$secs" -T $((secs + 60)) > /dev/null &
		local c2=$!
		wait $c1 $c2 $s1 $s2
		# time, MPTCP Mbit/s, TCP Mbit/s (receiver side, per second)
		ticks "$MP_TMP/fm.srv" > "$MP_TMP/fm.ticks"; ticks "$MP_TMP/ft.srv" > "$MP_TMP/ft.ticks"
		awk -F, 'NR == FNR { m[$1] = $2; next } ($1 in m) { printf "%d,%.2f,%.2f\n", $1, m[$1] * 8 / 1e6, $2 * 8 / 1e6 }' \
			"$MP_TMP/fm.ticks" "$MP_TMP/ft.ticks" > "/out/fairness-$cc.csv"
		awk -F, -v cc=$cc 'NR > 5 { m += $2; t += $3; n++ } END {
			printf "fairness %s: after 5 s, MPTCP %.2f Mbit/s, TCP %.2f Mbit/s, ratio %.2f\n", cc, m / n, t / n, m / t
			printf "fairness\t%s\t%.2f\t%.2f\t%.2f\n", cc, m / n, t / n, m / t >> "/out/experiments.tsv" }' "/out/fairness-$cc.csv"
	done
	mp_cleanup
}

pooling() {
	local rate=10 delay=10 cc half=$((secs / 2))
	echo "== pooling: two disjoint $rate Mbit/s paths; a Reno flow loads path 1 for $half s, then path 2"
	mp_router_topology $rate $delay 0 || return 1
	# The background flow on path 2 starts in the client namespace from 10.0.2.1 (its
	# own plain TCP socket, so the source routing rule sends it over c2).
	for cc in lia reno; do
		mp_bg "$MP_TMP/pm.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -T $((secs + 60))
		local s1=$MP_LAST_PID
		mp_bg "$MP_TMP/pb.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 5202 -n 2 -T $((secs + 60))
		local s2=$MP_LAST_PID
		mp_wait_listen "$MP_SRV" 5201; mp_wait_listen "$MP_SRV" 5202
		ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C $cc -t "$secs" -T $((secs + 60)) > /dev/null &
		local c1=$!
		ip netns exec "$MP_TCP" "$MP_XFER" -c $MP_SRV_ADDR -m tcp -p 5202 -C reno -t "$half" -T $((secs + 60)) > /dev/null &
		local b1=$! b2=""
		local t=0 start=$(date +%s%N) prev="" line
		echo "time_s,mptcp_path1,mptcp_path2,background_path1,background_path2" > "/out/pooling-$cc.csv"
		declare -A last=()
		while kill -0 $c1 2>/dev/null && [ $t -lt $((secs + 5)) ]; do
			t=$((t + 1))
			local now=$(date +%s%N)
			sleep "$(awk -v d=$(( start + t * 1000000000 - now )) 'BEGIN { printf "%.3f", (d > 0 ? d : 0) / 1e9 }')"
			if [ $t = "$half" ]; then
				ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -b 10.0.2.1 -m tcp -p 5202 -C reno \
					-t "$half" -T $((secs + 60)) > /dev/null &
				b2=$!
			fi
			# bytes acked so far per (namespace, source address, port)
			local m1 m2 g1 g2
			m1=$(subflow_bytes "$MP_CLI" 5201 | awk '$1 == "10.0.1.1" { s += $2 } END { print s + 0 }')
			m2=$(subflow_bytes "$MP_CLI" 5201 | awk '$1 == "10.0.2.1" { s += $2 } END { print s + 0 }')
			g1=$(subflow_bytes "$MP_TCP" 5202 | awk '{ s += $2 } END { print s + 0 }')
			g2=$(subflow_bytes "$MP_CLI" 5202 | awk '{ s += $2 } END { print s + 0 }')
			line="$t"
			local k v
			for k in m1 m2 g1 g2; do
				v=${!k}
				# A flow that ended reads 0: count nothing rather than a negative rate.
				local d=$(( v - ${last[$k]:-0} ))
				[ $d -ge 0 ] || d=0
				line="$line,$(awk -v d=$d 'BEGIN { printf "%.2f", d * 8 / 1e6 }')"
				last[$k]=$v
			done
			echo "$line" >> "/out/pooling-$cc.csv"
		done
		wait $c1 $b1 $b2 $s1 $s2 2>/dev/null
		awk -F, -v cc=$cc -v h=$half 'NR > 1 && $1 > 3 && $1 <= h { a1 += $2; a2 += $3; a3 += $4; n++ }
			NR > 1 && $1 > h + 3 && $1 <= 2 * h { b1 += $2; b2 += $3; b4 += $5; k++ }
			END { printf "pooling %s: load on path 1: MPTCP %.2f + %.2f Mbit/s (path 1 + 2), background %.2f; load on path 2: MPTCP %.2f + %.2f, background %.2f\n",
				cc, a1 / n, a2 / n, a3 / n, b1 / k, b2 / k, b4 / k
				printf "pooling\t%s\tpath 1\t%.2f\t%.2f\t%.2f\n", cc, a1 / n, a2 / n, a3 / n >> "/out/experiments.tsv"
				printf "pooling\t%s\tpath 2\t%.2f\t%.2f\t%.2f\n", cc, b1 / k, b2 / k, b4 / k >> "/out/experiments.tsv" }' "/out/pooling-$cc.csv"
	done
	mp_cleanup
}

handover() {
	local mode
	for mode in regular backup; do
		echo "== handover: cellular as a $mode subflow"
		local extra=()
		[ $mode = backup ] && extra=(--backup)
		mp_module_unload
		bash /guest/demo.sh --duration "$secs" --down 10 --up 20 "${extra[@]}" > "$MP_TMP/ho.log" 2>&1
		grep -E '^(verified|FAILED|path share|longest stall)' "$MP_TMP/ho.log" | sed "s/^/handover $mode: /"
		# cellular mode, MiB verified (0 if not), wifi %, cellular %, stall ms
		awk -v m=$mode '/^verified:/ { mib = $2 / 1048576 }
			/^path share/ { for (i = 1; i <= NF; i++) { if ($i == "wifi") w = $(i + 1); if ($i == "cellular") c = $(i + 1) } }
			/^longest stall:/ { st = $3 }
			END { gsub("[%,]", "", w); gsub("[%,]", "", c); printf "handover\t%s\t%.0f\t%s\t%s\t%s\n", m, mib, w, c, st }' \
			"$MP_TMP/ho.log" >> /out/experiments.tsv
		for f in demo.csv demo-ticks.csv demo-events.csv; do
			[ -f /out/$f ] && mv /out/$f "/out/handover-$mode${f#demo}"
		done
	done
	mp_module_load
}

for e in "${list[@]}"; do $e; done
