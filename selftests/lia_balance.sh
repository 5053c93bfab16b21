#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lia balances congestion (RFC 6356 goal 3): two equal paths, a competing Reno TCP flow
# on path 1 only. Coupled subflows move traffic off the congested path: the ratio of the
# MPTCP subflow's goodput on path 1 to the competing flow's is at most 0.6 of what
# uncoupled Reno subflows get in the same test, while the path-2 subflow still fills
# path 2, the path-1 subflow still carries some traffic and the competing flow gets at
# least half of path 1. olia runs in the same test: it must do measurably better than lia
# at leaving path 1 to the competing flow (the paper's scenario where LIA is not
# Pareto-optimal). Every figure checked is a median of RUNS (5) rounds.
. "$(dirname "$0")/lib.sh"

RATE=${RATE:-20}	# each path, Mbit/s
DELAY=${DELAY:-10}	# one-way, ms
SECS=${SECS:-20}
RUNS=${RUNS:-5}	# rounds; the checks use medians

mp_init
mp_require_root
mp_require_mptcp
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }

if ! mp_router_topology $RATE $DELAY 0; then
	mp_result $KSFT_FAIL "topology set-up"
	mp_exit
fi

# run CC: MPTCP with CC on its subflows plus a Reno flow on path 1, together for SECS.
# Sets P1 (MPTCP's bit/s on path 1), P2 (on path 2), TCP (the competing flow's bit/s).
run() {
	local cc=$1 b1 b2 bt
	mp_bg "$MP_TMP/srv_mptcp" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -T $((SECS * 3 + 20))
	local s1=$MP_LAST_PID
	mp_bg "$MP_TMP/srv_tcp" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 5202 -T $((SECS * 3 + 20))
	local s2=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 5201; mp_wait_listen "$MP_SRV" 5202
	# Bytes each sender put on its link (same units: with headers) from before the run
	# until both clients are done, over the time between the two samples of its
	# namespace (each read together with its counters).
	local d=/sys/class/net cb tb ca ta
	local cli="$d/c1/statistics/tx_bytes $d/c2/statistics/tx_bytes" tcp=$d/t1/statistics/tx_bytes
	cb=$(mp_sample "$MP_CLI" $cli) tb=$(mp_sample "$MP_TCP" $tcp)
	ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C "$cc" -t $SECS -T $((SECS * 3 + 20)) > /dev/null &
	local c1=$!
	ip netns exec "$MP_TCP" "$MP_XFER" -c $MP_SRV_ADDR -m tcp -p 5202 -C reno -t $SECS -T $((SECS * 3 + 20)) > /dev/null &
	local c2=$!
	wait $c1 $c2
	ca=$(mp_sample "$MP_CLI" $cli) ta=$(mp_sample "$MP_TCP" $tcp)
	wait $s1 $s2
	P1=$(mp_rate "$cb" "$ca" 1) P2=$(mp_rate "$cb" "$ca" 2) TCP=$(mp_rate "$tb" "$ta" 1)
	RATIO=$(mp_div $P1 $TCP 3)
	mp_info "$cc: MPTCP path 1 $((P1 / 1000)) kbit/s, path 2 $((P2 / 1000)) kbit/s; competing TCP $((TCP / 1000)) kbit/s; path-1 ratio $RATIO"
}

# RUNS rounds of the three, interleaved so that a slow moment of the host touches all
# three alike; every figure below is the median of its RUNS values (one 20 s run of each
# gave path-1 ratios spread over 2x on an idle host: lia 0.18-0.43, olia 0.07-0.26).
declare -A V
for i in $(seq $RUNS); do
	for cc in lia olia reno; do
		run $cc
		V[$cc.ratio]+=" $RATIO" V[$cc.p1]+=" $P1" V[$cc.p2]+=" $P2" V[$cc.tcp]+=" $TCP"
	done
done
for cc in lia olia reno; do
	echo "# $cc, $RUNS runs: path-1 ratios${V[$cc.ratio]}; competing TCP (bit/s)${V[$cc.tcp]}"
done
med() { mp_median ${V[$1]}; }
LIA_RATIO=$(med lia.ratio) LIA_P1=$(med lia.p1) LIA_P2=$(med lia.p2) LIA_TCP=$(med lia.tcp)
OLIA_RATIO=$(med olia.ratio) OLIA_P1=$(med olia.p1) OLIA_P2=$(med olia.p2) OLIA_TCP=$(med olia.tcp)
RENO_RATIO=$(med reno.ratio) RENO_P1=$(med reno.p1) RENO_TCP=$(med reno.tcp)
limit=$(awk -v r="$RENO_RATIO" 'BEGIN { printf "%.3f\n", r * 0.6 }')
echo "# congestion balancing, medians: path-1 MPTCP/TCP ratio lia=$LIA_RATIO uncoupled-reno=$RENO_RATIO (lia must be <= $limit)"
mp_check "lia moves traffic off the congested path: $LIA_RATIO <= 0.6 x $RENO_RATIO" mp_le "$LIA_RATIO" "$limit"
min=$((RATE * 1000000 * 8 / 10))
mp_check "lia's path-2 subflow fills path 2 (>= 80%: $((LIA_P2 / 1000)) kbit/s)" test $LIA_P2 -ge $min
# Lower bounds: moving traffic off path 1 is not abandoning it (in LIA's equilibrium the
# two subflows' windows are in the inverse ratio of their loss rates, never zero), and
# the competing flow is not pushed below half of its path either.
mp_check "lia keeps using path 1 (>= 1/4 of uncoupled Reno's $((RENO_P1 / 1000)) kbit/s: $((LIA_P1 / 1000)))" \
	test $LIA_P1 -ge $((RENO_P1 / 4))
mp_check "the competing TCP flow gets at least half of path 1 ($((LIA_TCP / 1000)) kbit/s)" \
	test $LIA_TCP -ge $((RATE * 1000000 / 2))
# The paper's case against LIA (Khalili et al.): the multipath user has a path of its
# own (2) and one shared with a single-path user (1). The Pareto-optimal allocation
# leaves path 1 to the TCP flow; olia must come measurably closer to it than lia: less
# of its traffic on path 1 relative to the competing flow, and more for that flow.
echo "# two user types, two bottlenecks, medians: competing TCP gets lia $((LIA_TCP / 1000)), olia $((OLIA_TCP / 1000)), uncoupled-reno $((RENO_TCP / 1000)) kbit/s; path-1 ratios lia=$LIA_RATIO olia=$OLIA_RATIO reno=$RENO_RATIO"
mp_check "olia closer to the optimum than lia: path-1 ratio $OLIA_RATIO <= 0.8 x $LIA_RATIO" \
	mp_le "$OLIA_RATIO" "$(awk -v r="$LIA_RATIO" 'BEGIN { printf "%.3f\n", r * 0.8 }')"
mp_check "olia leaves the competing flow more than lia does ($((OLIA_TCP / 1000)) > $((LIA_TCP / 1000)) kbit/s)" \
	test "$OLIA_TCP" -gt "$LIA_TCP"
# olia may pay for it on its own path (74% and 86% of path 2 in two runs, against 93-95%
# with lia; why is not established, see Documentation/olia.rst). Asserted: it still uses
# most of it.
mp_check "olia still uses most of its own path (>= 50%: $((OLIA_P2 / 1000)) kbit/s)" \
	test $OLIA_P2 -ge $((RATE * 1000000 / 2))
echo "# multipath user's total: lia $(((LIA_P1 + LIA_P2) / 1000)), olia $(((OLIA_P1 + OLIA_P2) / 1000)) kbit/s (optimum: $((RATE * 1000)) on its own path)"
[ $mp_nfail = 0 ] || mp_debug "$MP_CLI" "$MP_SRV"
mp_cleanup
mp_module_unload || mp_info "module still in use at exit"
mp_exit
