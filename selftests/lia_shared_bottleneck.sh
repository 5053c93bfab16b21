#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lia at a shared bottleneck (RFC 6356 goal 2, "do no harm"): an MPTCP connection with
# two subflows and one regular TCP (Reno) flow cross the same shaped link. With lia on
# the subflows, MPTCP's goodput divided by TCP's is between 0.6 and 1.25, and the
# coupling was at work (both subflows in /proc/net/lia's computation, alpha recomputed);
# with uncoupled Reno on the subflows, measured in the same test, it is at least 1.3.
# Where the bounds come from (AIMD sawtooth, average window sqrt(a (1 - b/2) / (b p))
# for an increase of a per RTT and a decrease by b at each loss event; Reno: a = 1,
# b = 1/2). Two lia subflows with equal RTTs have alpha = 1/2, so together a = 1/2. If a
# loss event hits one subflow, the total drops by b = 1/4 and the ratio to TCP is 1.08;
# if it hits both (a drop-tail queue often drops from both), b = 1/2 and the ratio is
# 0.71. Uncoupled Reno subflows (a = 2) give 2.16 and 1.41 in the same two cases. The
# bounds leave room for noise around each range (15 % below lia's 0.71) and still tell
# the two apart.
# One 20 s run is one sample of two sawtooths that may be in or out of phase; ratios of
# single runs spread from 0.56 to 1.10 with lia, so the test runs each RUNS times,
# alternating, and checks the medians.
. "$(dirname "$0")/lib.sh"

RATE=${RATE:-20}	# bottleneck, Mbit/s
DELAY=${DELAY:-10}	# one-way, ms
SECS=${SECS:-20}	# per run
RUNS=${RUNS:-3}	# runs of each, odd

mp_init
mp_require_root
mp_require_mptcp
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }

if ! mp_router_topology $RATE $DELAY 1; then
	mp_result $KSFT_FAIL "topology set-up"
	mp_exit
fi

# run CC: one MPTCP upload with congestion control CC on its subflows and one Reno TCP
# upload, together for SECS; sets RATIO (MPTCP / TCP goodput) and the goodputs.
run() {
	local cc=$1
	mp_bg "$MP_TMP/srv_mptcp" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -T $((SECS * 3 + 20))
	local s1=$MP_LAST_PID
	mp_bg "$MP_TMP/srv_tcp" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 5202 -T $((SECS * 3 + 20))
	local s2=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 5201; mp_wait_listen "$MP_SRV" 5202
	ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C "$cc" -t $SECS -T $((SECS * 3 + 20)) > "$MP_TMP/cli_mptcp" &
	local c1=$!
	ip netns exec "$MP_TCP" "$MP_XFER" -c $MP_SRV_ADDR -m tcp -p 5202 -C reno -t $SECS -T $((SECS * 3 + 20)) > "$MP_TMP/cli_tcp" &
	local c2=$!
	sleep 2
	if [ "$cc" = lia ]; then
		# The coupling at work: subflows in the last computation (column 3).
		local row
		row=$(ip netns exec "$MP_CLI" awk 'NR == 2' /proc/net/lia | tr -s ' ')
		mp_info "during the run: $row"
		[ "$(echo "$row" | awk '{ print $3 }')" = 2 ] && COUPLED_RUNS=$((COUPLED_RUNS + 1))
	fi
	wait $c1 $c2 $s1 $s2
	MPTCP_BPS=$(mp_goodput "$MP_TMP/srv_mptcp")
	TCP_BPS=$(mp_goodput "$MP_TMP/srv_tcp")
	RATIO=$(mp_div "$MPTCP_BPS" "$TCP_BPS")
	mp_info "$cc: MPTCP $((MPTCP_BPS / 1000)) kbit/s, TCP $((TCP_BPS / 1000)) kbit/s, ratio $RATIO (bottleneck $RATE Mbit/s)"
}

lia_r=() reno_r=() lia_t=() reno_t=() COUPLED_RUNS=0
recomputed0=$(mp_lia_stat "$MP_CLI" LiaAlphaRecomputed)
for i in $(seq $RUNS); do
	run lia; lia_r+=($RATIO); lia_t+=($((MPTCP_BPS + TCP_BPS)))
	run reno; reno_r+=($RATIO); reno_t+=($((MPTCP_BPS + TCP_BPS)))
done
LIA_RATIO=$(mp_median "${lia_r[@]}") LIA_TOTAL=$(mp_median "${lia_t[@]}")
RENO_RATIO=$(mp_median "${reno_r[@]}") RENO_TOTAL=$(mp_median "${reno_t[@]}")
echo "# shared bottleneck, medians of $RUNS runs: MPTCP/TCP goodput ratio lia=$LIA_RATIO (${lia_r[*]}) uncoupled-reno=$RENO_RATIO (${reno_r[*]})"

# Both runs must use the link, or the ratios mean nothing: at least 70 % of the rate.
min=$((RATE * 1000000 * 7 / 10))
mp_check "both fill the bottleneck (>= 70%, medians: lia $((LIA_TOTAL / 1000)), reno $((RENO_TOTAL / 1000)) kbit/s)" \
	test $LIA_TOTAL -ge $min -a $RENO_TOTAL -ge $min
# The model's range is [0.71, 1.08] (see the top); the bounds leave 15 % for noise.
mp_check "lia: median MPTCP/TCP ratio $LIA_RATIO within [0.6, 1.25]" \
	eval 'mp_le 0.6 $LIA_RATIO && mp_le $LIA_RATIO 1.25'
mp_check "uncoupled reno: median ratio $RENO_RATIO above lia's upper bound (>= 1.3)" mp_le 1.3 "$RENO_RATIO"
coupled=$(mp_lia_stat "$MP_CLI" LiaSubflowCoupled)
mp_check "both subflows of every lia run were coupled (LiaSubflowCoupled=$coupled)" test "$coupled" -ge $((2 * RUNS))
recomputed=$(( $(mp_lia_stat "$MP_CLI" LiaAlphaRecomputed) - recomputed0 ))
mp_check "the coupling was active: both subflows in the computation in $COUPLED_RUNS of $RUNS runs, alpha recomputed $recomputed times" \
	test "$COUPLED_RUNS" = "$RUNS" -a "$recomputed" -ge $((100 * RUNS))
[ $mp_nfail = 0 ] || mp_debug "$MP_CLI" "$MP_SRV"
mp_cleanup
mp_module_unload || mp_info "module still in use at exit"
mp_exit
