#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The testbed itself: a client namespace with two differently shaped veth paths to a
# server namespace; one MPTCP connection uses both (in-kernel path manager, a "subflow"
# endpoint on the second path) and moves 16 MiB each way with matching checksums; the
# MPTCP counters show that the second subflow joined and both paths carried data.
. "$(dirname "$0")/lib.sh"

SIZE=$((16 * 1024 * 1024))
RATE1=40 DELAY1=5	# path 1: Mbit/s, one-way ms
RATE2=20 DELAY2=20	# path 2

mp_init
mp_require_root
mp_require_mptcp
mp_require_cmd ip tc nstat ss

if ! mp_testbed_two_paths $RATE1 $DELAY1 $RATE2 $DELAY2; then
	mp_result $KSFT_FAIL "testbed set-up"
	mp_exit
fi
mp_result $KSFT_PASS "testbed: client with two shaped paths (${RATE1}/${RATE2} Mbit/s)"

# Each direction carries SIZE over both paths: allow 3x the ideal time plus 10 s for
# slow start and an emulated guest.
budget=$(( SIZE * 8 * 3 / ((RATE1 + RATE2) * 1000000) + 10 ))
mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -s $SIZE -S 2 -T $budget
srv_pid=$MP_LAST_PID
mp_wait_listen "$MP_SRV" 5201 || mp_info "server not listening"
c1_tx0=$(mp_dev_bytes "$MP_CLI" c1 tx) c2_tx0=$(mp_dev_bytes "$MP_CLI" c2 tx)
s1_tx0=$(mp_dev_bytes "$MP_SRV" s1 tx) s2_tx0=$(mp_dev_bytes "$MP_SRV" s2 tx)
start=$(date +%s%N)
cli=$(ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -s $SIZE -S 1 -T $budget)
cli_rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait "$srv_pid"; srv_rc=$?
srv=$(grep '^sent=' "$MP_TMP/srv")
mp_info "client: $cli"
mp_info "server: $srv"
mp_check "transfer completes both ways in ${ms} ms (budget ${budget} s)" \
	test "$cli_rc" = 0 -a "$srv_rc" = 0

ok=0
if [ "$(mp_field "$cli" sent)" = $SIZE ] && [ "$(mp_field "$srv" recv)" = $SIZE ] &&
   [ "$(mp_field "$cli" sent_sum)" = "$(mp_field "$srv" recv_sum)" ]; then ok=1; fi
mp_check "client->server: 16 MiB, checksums match" test $ok = 1
ok=0
if [ "$(mp_field "$srv" sent)" = $SIZE ] && [ "$(mp_field "$cli" recv)" = $SIZE ] &&
   [ "$(mp_field "$srv" sent_sum)" = "$(mp_field "$cli" recv_sum)" ]; then ok=1; fi
mp_check "server->client: 16 MiB, checksums match" test $ok = 1

join_syn=$(mp_counter "$MP_SRV" MPTcpExtMPJoinSynRx)
join_ack=$(mp_counter "$MP_SRV" MPTcpExtMPJoinAckRx)
cap=$(mp_counter "$MP_SRV" MPTcpExtMPCapableSYNRX)
mp_info "server counters: MPCapableSYNRX=$cap MPJoinSynRx=$join_syn MPJoinAckRx=$join_ack"
mp_check "MPTCP connection with a joined second subflow" \
	test "$cap" -ge 1 -a "$join_ack" -ge 1

# Both paths carried data, in both directions: at least 10% of SIZE on each.
c1=$(( $(mp_dev_bytes "$MP_CLI" c1 tx) - c1_tx0 )) c2=$(( $(mp_dev_bytes "$MP_CLI" c2 tx) - c2_tx0 ))
s1=$(( $(mp_dev_bytes "$MP_SRV" s1 tx) - s1_tx0 )) s2=$(( $(mp_dev_bytes "$MP_SRV" s2 tx) - s2_tx0 ))
mp_info "bytes sent: client path1=$c1 path2=$c2, server path1=$s1 path2=$s2"
min=$(( SIZE / 10 ))
mp_check "both paths carried data each way (>= $min bytes)" \
	test $c1 -ge $min -a $c2 -ge $min -a $s1 -ge $min -a $s2 -ge $min
[ $mp_nfail = 0 ] || mp_debug "$MP_CLI" "$MP_SRV"
mp_exit
