#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lia over disjoint paths (RFC 6356 goal 1, "improve throughput"): two subflows over two
# separately shaped paths, no other traffic, bottleneck queues of one bandwidth-delay
# product. lia must fill at least 85 % of the sum of the two rates. A single Reno TCP
# flow's use of one path, measured in the same test, is printed beside it.
. "$(dirname "$0")/lib.sh"

RATE1=${RATE1:-20} DELAY1=${DELAY1:-10}	# path 1: Mbit/s, one-way ms
RATE2=${RATE2:-10} DELAY2=${DELAY2:-25}	# path 2
SECS=${SECS:-20}

mp_init
mp_require_root
mp_require_mptcp
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }

if ! mp_testbed_two_paths $RATE1 $DELAY1 $RATE2 $DELAY2; then
	mp_result $KSFT_FAIL "testbed set-up"
	mp_exit
fi
# Upload only: shape the return direction by delay alone, so ACKs are never the limit.
tc -n "$MP_SRV" qdisc replace dev s1 root netem delay ${DELAY1}ms limit 10000
tc -n "$MP_SRV" qdisc replace dev s2 root netem delay ${DELAY2}ms limit 10000

# xfer_run NS ARGS...: an upload of SECS to the server; prints its goodput (bit/s).
xfer_run() {
	local ns=$1; shift
	mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 "$@" -T $((SECS * 3 + 20))
	local s=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 5201
	ip netns exec "$ns" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 "$@" -t $SECS -T $((SECS * 3 + 20)) > /dev/null
	wait $s
	mp_goodput "$MP_TMP/srv"
}

# Baseline: one Reno TCP flow on path 1 alone.
reno=$(xfer_run "$MP_CLI" -m tcp -C reno)
reno_util=$(mp_div "$reno" $((RATE1 * 1000000)) 3)
lia=$(xfer_run "$MP_CLI" -C lia)
lia_util=$(mp_div "$lia" $(((RATE1 + RATE2) * 1000000)) 3)
echo "# disjoint paths ${RATE1}+${RATE2} Mbit/s: lia $((lia / 1000)) kbit/s = $lia_util of the sum; one Reno flow on path 1: $((reno / 1000)) kbit/s = $reno_util of path 1"
mp_check "lia fills >= 85% of both paths ($lia_util)" mp_le 0.85 "$lia_util"
coupled=$(mp_lia_stat "$MP_CLI" LiaSubflowCoupled)
mp_check "both subflows were coupled (LiaSubflowCoupled=$coupled)" test "$coupled" -ge 2
[ $mp_nfail = 0 ] || mp_debug "$MP_CLI" "$MP_SRV"
mp_cleanup
mp_module_unload || mp_info "module still in use at exit"
mp_exit
