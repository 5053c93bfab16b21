#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lia's and olia's slow start (HyStart++, RFC 9406) behind deep queues. Two paths, each
# with a bottleneck queue of QLIMIT packets, far more than its bandwidth-delay product,
# no other traffic. A Reno slow start fills such a queue until it overflows and loses a
# burst of packets; HyStart++ sees the RTT grow with the queue and ends slow start long
# before, at a few times the bandwidth-delay product. In one run: an MPTCP upload with
# reno on both subflows (the control: its queues must fill, or the scenario proves
# nothing), then one with lia and one with olia. Each must show HyStart++ at work
# (counters of /proc/net/lia_stat), its largest smoothed RTT (the queue it built) at
# most two thirds of reno's, and fill the paths. Then, from the same samples, lia's
# growth in congestion avoidance against RFC 6356's prediction (alpha packets per RTT
# for the whole connection).
. "$(dirname "$0")/lib.sh"

RATE1=${RATE1:-10} DELAY1=${DELAY1:-10}	# path 1: Mbit/s, one-way ms
RATE2=${RATE2:-5} DELAY2=${DELAY2:-20}	# path 2
QLIMIT=${QLIMIT:-400}			# bottleneck queues, packets (netem limit)
SECS=${SECS:-8}

mp_init
mp_require_root
mp_require_mptcp
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }

if ! mp_testbed_two_paths $RATE1 $DELAY1 $RATE2 $DELAY2; then
	mp_result $KSFT_FAIL "testbed set-up"
	mp_exit
fi
# Uploads: the client's side of each path holds the deep queue; the return direction
# is shaped by delay alone, so ACKs are never the limit.
mp_shape "$MP_CLI" c1 $RATE1 $DELAY1 $QLIMIT
mp_shape "$MP_CLI" c2 $RATE2 $DELAY2 $QLIMIT
tc -n "$MP_SRV" qdisc replace dev s1 root netem delay ${DELAY1}ms limit 10000
tc -n "$MP_SRV" qdisc replace dev s2 root netem delay ${DELAY2}ms limit 10000

# upload ALGO: an MPTCP upload of SECS with ALGO, its subflows sampled every 0.25 s
# (ss -ti); sets up_bps, up_retrans (segments the client retransmitted), up_css and
# up_exit (HyStart++ events) and up_rtt (the largest smoothed RTT seen, ms). With
# TRACE=1 the samples are printed.
upload() {
	local cc=$1 r0 c0 e0 x0 s pid
	r0=$(mp_counter "$MP_CLI" TcpRetransSegs)
	c0=$(mp_lia_stat "$MP_CLI" LiaHyStartCss) e0=$(mp_lia_stat "$MP_CLI" LiaHyStartExit)
	x0=$(mp_lia_stat "$MP_CLI" LiaHyStartRiseExit)
	mp_bg "$MP_TMP/srv-$cc" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -C "$cc" -T $((SECS * 3 + 20))
	s=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 5201
	mp_bg "$MP_TMP/cli-$cc" ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C "$cc" \
		-t $SECS -T $((SECS * 3 + 20))
	pid=$MP_LAST_PID
	while kill -0 $pid 2>/dev/null; do
		echo "t=$(cut -d' ' -f1 /proc/uptime) $(ip netns exec "$MP_CLI" ss -Htin state established dport = :5201 |
			grep -oE '10\.0\.[12]\.1[%:]| (rtt|cwnd|ssthresh):[0-9.]+' | tr '\n' ' ')"
		sleep 0.25
	done > "$MP_TMP/trace-$cc"
	wait $pid
	wait $s
	up_bps=$(mp_goodput "$MP_TMP/srv-$cc")
	up_retrans=$(( $(mp_counter "$MP_CLI" TcpRetransSegs) - r0 ))
	up_css=$(( $(mp_lia_stat "$MP_CLI" LiaHyStartCss) - c0 ))
	up_exit=$(( $(mp_lia_stat "$MP_CLI" LiaHyStartExit) - e0 ))
	up_rise=$(( $(mp_lia_stat "$MP_CLI" LiaHyStartRiseExit) - x0 ))
	up_rtt=$(grep -oE 'rtt:[0-9.]+' "$MP_TMP/trace-$cc" | cut -d: -f2 | sort -g | tail -1 | cut -d. -f1)
	up_rtt=${up_rtt:-0}
	mp_info "$cc: $((up_bps / 1000)) kbit/s, largest srtt $up_rtt ms, $up_retrans segments" \
		"retransmitted, HyStart++ CSS $up_css exits $up_exit ($up_rise on a continued rise)"
	[ -z "${TRACE:-}" ] || sed 's/^/# /' "$MP_TMP/trace-$cc"
}

# ca_slope TRACE: from an upload's samples, the windows' growth in congestion avoidance
# against RFC 6356's prediction. Over each pair of consecutive samples in which both
# subflows are in congestion avoidance (ssthresh set, cwnd at or above it, no window
# fell): the sum of the windows' growth (packets), and what the coupled increase
# predicts for that time from the first sample's windows and RTTs: each subflow gets
# w_i / r_i ACKs per second, each adding alpha / w_total, so the connection grows by
# alpha * (sum_i w_i / r_i) / w_total packets per second; and what two uncoupled Reno
# subflows would do (sum_i 1 / r_i). Prints "SECONDS GROWTH LIA_PREDICTED RENO_PREDICTED".
ca_slope() {
	awk '{
		n++; t[n] = substr($1, 3); k = ""
		for (i = 2; i <= NF; i++) {
			if ($i ~ /^10\.0\./) { k = substr($i, 1, 8); continue }
			split($i, kv, ":"); v[n, k, kv[1]] = kv[2]
		}
	}
	function ca(s, k) { return v[s, k, "ssthresh"] != "" && v[s, k, "cwnd"] + 0 >= v[s, k, "ssthresh"] + 0 && v[s, k, "rtt"] > 0 }
	END {
		a = "10.0.1.1"; b = "10.0.2.1"
		for (s = 1; s < n; s++) {
			if (!(ca(s, a) && ca(s, b) && ca(s + 1, a) && ca(s + 1, b))) continue
			da = v[s + 1, a, "cwnd"] - v[s, a, "cwnd"]; db = v[s + 1, b, "cwnd"] - v[s, b, "cwnd"]
			if (da < 0 || db < 0) continue
			dt = t[s + 1] - t[s]
			wa = v[s, a, "cwnd"]; wb = v[s, b, "cwnd"]; ra = v[s, a, "rtt"] / 1000; rb = v[s, b, "rtt"] / 1000
			sum = wa / ra + wb / rb; best = wa / (ra * ra); if (wb / (rb * rb) > best) best = wb / (rb * rb)
			alpha = (wa + wb) * best / (sum * sum)
			secs += dt; grow += da + db
			lia += dt * alpha * sum / (wa + wb); reno += dt * (1 / ra + 1 / rb)
		}
		printf "%.2f %d %.1f %.1f\n", secs, grow, lia, reno
	}' "$1"
}

upload reno
reno_rtt=$up_rtt
# A full queue of QLIMIT packets of 1500 bytes or more at 5 Mbit/s is a second or more;
# the paths' own round trips are 20 and 40 ms.
mp_check "control: reno's slow start fills the queues (srtt up to $reno_rtt ms, >= 1 s)" \
	test "$reno_rtt" -ge 1000
[ "$(mp_lia_stat "$MP_CLI" LiaHyStartCss)" = 0 ] ||
	mp_result $KSFT_FAIL "reno moved the HyStart++ counters"
for cc in lia olia; do
	upload $cc
	mp_check "$cc: HyStart++ ended both subflows' slow starts (CSS $up_css, exits $up_exit)" \
		eval '[ "$up_exit" -ge 2 ] && [ "$up_css" -ge "$up_exit" ]'
	mp_check "$cc: the queues hold less than with reno (srtt up to $up_rtt vs $reno_rtt ms)" \
		test $((up_rtt * 3)) -le $((reno_rtt * 2))
	mp_check "$cc: fills >= 80% of both paths ($((up_bps / 1000)) kbit/s)" \
		test "$up_bps" -ge $(((RATE1 + RATE2) * 800000))
done
# After slow start, lia's connection grows by alpha packets per RTT (equal RTTs), not
# one per subflow: the growth measured over at least 3 s of congestion avoidance must be
# within 40 % of the coupled prediction and below 3/4 of two uncoupled Reno subflows'.
# (No process substitution: the guest has no /dev/fd.)
slope=$(ca_slope "$MP_TMP/trace-lia")
read -r secs grow pred reno_pred <<< "$slope"
mp_info "lia in congestion avoidance for $secs s: windows grew by $grow packets;" \
	"RFC 6356 predicts $pred, uncoupled Reno $reno_pred"
mp_check "lia's congestion-avoidance slope is RFC 6356's ($grow packets in $secs s, predicted $pred)" \
	eval 'mp_le 3 "$secs" && mp_le "$(mp_div "$grow" "$pred")" 1.4 && mp_le 0.6 "$(mp_div "$grow" "$pred")" && mp_le "$(mp_div "$grow" "$reno_pred")" 0.75'
[ $mp_nfail = 0 ] || mp_debug "$MP_CLI" "$MP_SRV"
mp_cleanup
mp_module_unload || mp_info "module still in use at exit"
mp_exit
