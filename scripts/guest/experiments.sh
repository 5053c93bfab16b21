#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The papers' experiments in namespaces, run inside the QEMU guest by
# scripts/experiments.sh. Each writes per-second CSV files to /out; the host plots them.
#   fairness  one MPTCP connection (2 subflows) and one Reno TCP flow share a bottleneck;
#             the MPTCP subflows run lia, then uncoupled Reno (NSDI 2011, goal 2)
#   pooling   two disjoint paths; background Reno traffic sits on path 1, then moves to
#             path 2; lia vs uncoupled Reno (NSDI 2011, resource pooling / goal 3)
#   pareto    the case where LIA is not Pareto-optimal (Khalili et al., CoNEXT 2012): the
#             multipath user has a path of its own and shares the other with a Reno
#             TCP user; lia, olia and uncoupled Reno, one after the other
#   handover  the main job's wifi/cellular download through the proxy, wifi lost at 10 s,
#             back at 20 s, with cellular as a regular subflow and as a backup subflow
#             (MobiArch 2011 / CellNet 2012 handover modes)
#
#   experiments.sh [--secs S] [fairness] [pooling] [pareto] [handover]   (default: all)
#
# Every rate is bytes over the time between two samples, as read with them; a busy
# guest samples late, and nothing assumes a sample came when it was due. Each run then
# checks itself: no path above its shaped rate by more than 5 %, and samples that cover
# the run (to within one sampling interval). A check that fails prints "FAILED:
# self-check: ..." and a "check" row in experiments.tsv (the host marks the results
# page with it), and the script exits 1.
. /selftests/lib.sh

secs=30
list=()
while [ $# -gt 0 ]; do
	case $1 in
	--secs) secs=$2; shift 2 ;;
	fairness|pooling|pareto|handover) list+=("$1"); shift ;;
	*) echo "experiments: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#list[@]} -gt 0 ] || list=(fairness pooling pareto handover)
: > /out/experiments.tsv
MP_TMP=$(mktemp -d)
trap 'mp_cleanup; rm -rf "$MP_TMP"' EXIT
mp_module_load || exit 1
# The experiments' namespaces may default to lia or olia.
for cc in lia olia; do
	grep -qw $cc /proc/sys/net/ipv4/tcp_allowed_congestion_control ||
		sysctl -qw net.ipv4.tcp_allowed_congestion_control="$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control) $cc"
done

nfailed=0
# check_failed WHAT / check_warned WHAT: a self-check failed / warned.
check_failed() {
	echo "FAILED: self-check: $*"
	printf 'check\t%s\n' "$*" >> /out/experiments.tsv
	nfailed=$((nfailed + 1))
}
check_warned() {
	echo "WARNING: self-check: $*"
	printf 'warn\t%s\n' "$*" >> /out/experiments.tsv
}

# check_run NAME CSV RATE PATHS: the self-checks of one run from its CSV (time in
# column 1, Mbit/s in the others). PATHS is "NAME=COLUMNS;..." (e.g. "path 1=2+4"):
# the flows on each path together stay within RATE + 5 % in every sample, and the
# last sample is at most one interval (1 s) short of the run's end. Samples more than
# 2 s apart only warn: the rates are right, but the guest was short of CPU time and
# the flows may have been too.
check_run() {
	local line out
	out=$(awk -F, -v name="$1" -v rate="$3" -v paths="$4" -v secs="$secs" '
		BEGIN { np = split(paths, pp, ";")
			for (j = 1; j <= np; j++) { split(pp[j], kv, "="); pname[j] = kv[1]; pcols[j] = kv[2] } }
		$1 ~ /^[0-9.]+$/ { n++; if ($1 - last > gap) gap = $1 - last; last = $1
			for (j = 1; j <= np; j++) {
				nc = split(pcols[j], c, "+"); v = 0
				for (i = 1; i <= nc; i++) v += $(c[i])
				if (v > max[j]) { max[j] = v; at[j] = $1 }
				if (v > rate * 1.05) bad[j]++
			} }
		END {
			for (j = 1; j <= np; j++) {
				if (bad[j]) { f++; printf "%s: %s above its shaped %d Mbit/s + 5 %% in %d of %d samples (%.2f Mbit/s at %.1f s)\n", name, pname[j], rate, bad[j], n, max[j], at[j] }
				hi = hi sprintf("%s%s %.2f", (j > 1 ? ", " : ""), pname[j], max[j])
			}
			if (last < secs - 1) { f++; printf "%s: the samples cover %.1f s of the %d s run\n", name, last, secs }
			if (!f) printf "pass %s: highest %s Mbit/s (shaped: %d); %d samples cover %.1f s of the %d s run\n", name, hi, rate, n, last, secs
			if (gap > 2) printf "warn %s: samples up to %.1f s apart (due every second): the guest was short of CPU time\n", name, gap
		}' "$2")
	while IFS= read -r line; do
		case $line in
		pass*) echo "self-check: passed: ${line#pass }" ;;
		warn*) check_warned "${line#warn }" ;;
		*) check_failed "$line" ;;
		esac
	done <<< "$out"
}

# acked NS: the bytes acknowledged so far on each TCP socket (MPTCP subflows included)
# to port 5201 or 5202, "ADDR PORT BYTES" (ADDR the local address), then "time TIME":
# /proc/uptime read as soon as ss has answered.
acked() {
	ip netns exec "$1" ss -Htin state established '( dport = :5201 or dport = :5202 )' | awk '
		/^[0-9]/ || /^\[/ { split($3, a, ":"); addr = a[1]; sub("%.*", "", addr); np = split($4, p, ":"); port = p[np]; next }
		{ if (match($0, /bytes_acked:[0-9]+/)) print addr, port, substr($0, RSTART + 12, RLENGTH - 12) }
		END { getline u < "/proc/uptime"; split(u, f, " "); print "time", f[1] }'
}

# flows_sample: "T M1 M2 G2 T_BG G1": the bytes acknowledged so far to port 5201 (the
# MPTCP server) by the subflows from 10.0.1.1 and 10.0.2.1 and to port 5202 by a flow
# from the client's namespace, at time T, and to port 5202 from the background
# namespace (MP_TCP) at time T_BG. The senders' acknowledged bytes, not what the
# receiving application got: a receiver gets a burst when a hole in its queue is
# filled, more in one second than the link carries.
flows_sample() {
	{ acked "$MP_CLI"; echo background; acked "$MP_TCP"; } | awk '
		$1 == "background" { bg = 1; next }
		$1 == "time" { tm[bg + 0] = $2; next }
		!bg && $2 == 5201 && $1 == "10.0.1.1" { m1 += $3 }
		!bg && $2 == 5201 && $1 == "10.0.2.1" { m2 += $3 }
		!bg && $2 == 5202 { g2 += $3 }
		bg && $2 == 5202 { g1 += $3 }
		END { print tm[0], m1 + 0, m2 + 0, g2 + 0, tm[1], g1 + 0 }'
}

# sample_flows FILE PID [HOOK]: append a flows_sample line to FILE (which holds the one
# taken before the flows started) every whole second since then, until the first
# sample after PID is done or 5 s past the run; HOOK, if given, is called with the
# second before its sample.
sample_flows() {
	local file=$1 pid=$2 hook=${3:-} t0 line alive=1
	read -r t0 _ < "$file"
	line=$t0
	while [ $alive = 1 ]; do
		mp_next_second "$t0" "${line%% *}"
		kill -0 "$pid" 2>/dev/null && [ $MP_SECOND -le $((secs + 5)) ] || alive=0
		[ -z "$hook" ] || $hook $MP_SECOND
		line=$(flows_sample)
		echo "$line" >> "$file"
	done
}

# flow_rates FILE: "TIME,M1,M2,G2,G1" from the samples of sample_flows: Mbit/s of each
# flow since the sample before, over its namespace's time, TIME since the first
# sample. A flow that ended reads 0: its last interval is unknown, an empty field
# (a gap in the plot), neither a negative rate nor a false 0.
flow_rates() {
	awk 'NR == 1 { t0 = $1 }
		NR > 1 { printf "%.2f", $1 - t0
			for (i = 2; i <= 6; i++) if (i != 5) {
				dt = (i == 6 ? $5 - p[5] : $1 - p[1]); d = $i - p[i]
				printf ",%s", (d < 0 || dt <= 0) ? "" : sprintf("%.2f", d * 8 / dt / 1e6)
			}
			printf "\n" }
		{ for (i = 1; i <= 6; i++) p[i] = $i }' "$1"
}

# run_flows CC RAW BG_SECS [HOOK]: an MPTCP upload from MP_CLI with CC on its subflows
# for secs and a Reno upload from MP_TCP for BG_SECS, to MP_SRV ports 5201 and 5202 (its
# TCP server takes SERVER_CONNS connections, default 1), sampled into RAW by sample_flows
# (HOOK passed on) until the MPTCP one ends; then waits for both and their servers.
run_flows() {
	local cc=$1 raw=$2 bg=$3 hook=${4:-} s1 s2 c1 c2
	mp_bg "$MP_TMP/m.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -T $((secs + 60))
	s1=$MP_LAST_PID
	mp_bg "$MP_TMP/t.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 5202 -n "${SERVER_CONNS:-1}" -T $((secs + 60))
	s2=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 5201; mp_wait_listen "$MP_SRV" 5202
	flows_sample > "$raw"
	ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C "$cc" -t "$secs" -T $((secs + 60)) > /dev/null &
	c1=$!
	ip netns exec "$MP_TCP" "$MP_XFER" -c $MP_SRV_ADDR -m tcp -p 5202 -C reno -t "$bg" -T $((secs + 60)) > /dev/null &
	c2=$!
	sample_flows "$raw" $c1 $hook
	wait $c1 $c2 $s1 $s2
}

fairness() {
	local rate=20 delay=10 cc
	echo "== fairness: one MPTCP (2 subflows) + one Reno TCP at a $rate Mbit/s bottleneck, ${delay} ms one way, $secs s"
	mp_router_topology $rate $delay 1 || return 1
	for cc in lia reno; do
		run_flows $cc "$MP_TMP/fairness.raw" "$secs"
		# time, MPTCP Mbit/s (both subflows), TCP Mbit/s
		flow_rates "$MP_TMP/fairness.raw" | awk -F, 'function v(x) { return x == "" ? "" : sprintf("%.2f", x) }
			{ print $1 "," (($2 $3) == "" ? "" : v($2 + $3)) "," v($5) }' > "/out/fairness-$cc.csv"
		check_run "fairness $cc" "/out/fairness-$cc.csv" $rate "bottleneck=2+3"
		# means after 5 s, each sample weighted by the time it covers
		# (an empty field: the flow had ended, the sample after its end; not a 0)
		awk -F, -v cc=$cc -v secs=$secs '{ dt = $1 - pt; pt = $1 } $1 > 5 && $1 <= secs && $2 != "" && $3 != "" { m += $2 * dt; t += $3 * dt; n += dt } END {
			printf "fairness %s: after 5 s, MPTCP %.2f Mbit/s, TCP %.2f Mbit/s, ratio %.2f\n", cc, m / n, t / n, m / t
			printf "fairness\t%s\t%.2f\t%.2f\t%.2f\n", cc, m / n, t / n, m / t >> "/out/experiments.tsv" }' "/out/fairness-$cc.csv"
	done
	mp_cleanup
}

# pooling_path2 SECOND: at half time, the background flow moves to path 2.
pooling_path2() {
	[ -z "$b2" ] && [ "$1" -ge "$half" ] || return 0
	ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -b 10.0.2.1 -m tcp -p 5202 -C reno \
		-t "$half" -T $((secs + 60)) > /dev/null &
	b2=$!
}

pooling() {
	local rate=10 delay=10 cc half=$((secs / 2)) b2
	echo "== pooling: two disjoint $rate Mbit/s paths; a Reno flow loads path 1 for $half s, then path 2"
	mp_router_topology $rate $delay 0 || return 1
	# The background flow on path 2 starts in the client namespace from 10.0.2.1 (its
	# own plain TCP socket, so the source routing rule sends it over c2).
	for cc in lia reno; do
		b2=""
		SERVER_CONNS=2 run_flows $cc "$MP_TMP/pooling.raw" "$half" pooling_path2
		[ -z "$b2" ] || wait $b2
		local csv=/out/pooling-$cc.csv
		echo "time_s,mptcp_path1,mptcp_path2,background_path1,background_path2" > "$csv"
		flow_rates "$MP_TMP/pooling.raw" | awk -F, '{ print $1 "," $2 "," $3 "," $5 "," $4 }' >> "$csv"
		check_run "pooling $cc" "$csv" $rate "path 1=2+4;path 2=3+5"
		# means over each phase, each sample weighted by the time it covers
		awk -F, -v cc=$cc -v h=$half 'NR > 1 { dt = $1 - pt; pt = $1 }
			NR > 1 && $1 > 3 && $1 <= h { a1 += $2 * dt; a2 += $3 * dt; a3 += $4 * dt; n += dt }
			NR > 1 && $1 > h + 3 && $1 <= 2 * h { b1 += $2 * dt; b2 += $3 * dt; b4 += $5 * dt; k += dt }
			END { printf "pooling %s: load on path 1: MPTCP %.2f + %.2f Mbit/s (path 1 + 2), background %.2f; load on path 2: MPTCP %.2f + %.2f, background %.2f\n",
				cc, a1 / n, a2 / n, a3 / n, b1 / k, b2 / k, b4 / k
				printf "pooling\t%s\tpath 1\t%.2f\t%.2f\t%.2f\n", cc, a1 / n, a2 / n, a3 / n >> "/out/experiments.tsv"
				printf "pooling\t%s\tpath 2\t%.2f\t%.2f\t%.2f\n", cc, b1 / k, b2 / k, b4 / k >> "/out/experiments.tsv" }' "$csv"
	done
	mp_cleanup
}

# pareto: the topology of pooling (and of lia_balance.sh), 20 Mbit/s paths; the Reno
# user stays on path 1 for the whole run. In LIA's equilibrium the multipath user keeps
# a share of path 1 although path 2 is its own and less congested; OLIA's goal is to
# leave path 1 to the TCP user without losing path 2 (Pareto-optimal).
pareto() {
	local rate=20 delay=10 cc
	echo "== pareto: two disjoint $rate Mbit/s paths; a Reno TCP user shares path 1 with the multipath user"
	mp_router_topology $rate $delay 0 || return 1
	for cc in lia olia reno; do
		run_flows $cc "$MP_TMP/pareto.raw" "$secs"
		local csv=/out/pareto-$cc.csv
		echo "time_s,mptcp_path1,mptcp_path2,tcp_path1" > "$csv"
		flow_rates "$MP_TMP/pareto.raw" | awk -F, '{ print $1 "," $2 "," $3 "," $5 }' >> "$csv"
		check_run "pareto $cc" "$csv" $rate "path 1=2+4;path 2=3"
		# means after 5 s, each sample weighted by the time it covers
		awk -F, -v cc=$cc -v secs=$secs 'NR > 1 { dt = $1 - pt; pt = $1 }
			NR > 1 && $1 > 5 && $1 <= secs && $2 != "" && $3 != "" && $4 != "" { a += $2 * dt; b += $3 * dt; t += $4 * dt; n += dt }
			END { printf "pareto %s: after 5 s, MPTCP %.2f + %.2f Mbit/s (path 1 + 2), TCP %.2f on path 1, path-1 MPTCP/TCP %.2f\n",
				cc, a / n, b / n, t / n, a / t
				printf "pareto\t%s\t%.2f\t%.2f\t%.2f\t%.2f\n", cc, a / n, b / n, t / n, a / t >> "/out/experiments.tsv" }' "$csv"
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
		grep -E '^(verified|FAILED|path share|longest stall|self-check)' "$MP_TMP/ho.log" |
			grep -v '^FAILED: self-check: ' | sed "s/^/handover $mode: /"
		# the demo's own self-checks (see demo.sh)
		local line
		while IFS= read -r line; do
			case $line in
			"FAILED: self-check: "*) check_failed "handover $mode: ${line#*self-check: }" ;;
			"WARNING: self-check: "*) check_warned "handover $mode: ${line#*self-check: }" ;;
			esac
		done <<< "$(grep -E '^(FAILED|WARNING): self-check: ' "$MP_TMP/ho.log")"
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
[ $nfailed = 0 ] || { echo "FAILED: $nfailed self-check(s); the numbers above are not to be trusted"; exit 1; }
