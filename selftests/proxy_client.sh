#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The client side: an nftables rule selects connections (DNAT to the proxy plus a
# conntrack mark) and the module adds the original destination to their SYNs as a
# proxy-target option. Each SYN is counted as tagged on the client and accepted by the
# proxy's gate (so the option and the rewritten checksums are right), for MPTCP and
# plain TCP, IPv4 and IPv6 (where the SYN loses its timestamps to make room); a
# connection DNATed without the mark is not tagged, and the proxy refuses it. A
# retransmitted SYN is tagged again; SYN cookies on the proxy change nothing.
. "$(dirname "$0")/lib.sh"

mp_init
mp_require_root
mp_require_cmd nft
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }
mp_proxy_topology || { mp_result $KSFT_FAIL "topology set-up"; mp_exit; }
ip netns exec "$MP_CLI" nft add rule inet mptcp_proxy out meta l4proto tcp ip daddr 198.51.100.0/24 dnat ip to 10.0.0.1:$MP_PROXY_PORT

mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -6 -m tcp -p 80 -n 3 -s 100000 -T 60
mp_wait_listen "$MP_SRV" 80
run() { # run DESC XFER_ARGS...: one transfer to the server; checks it completed.
	local desc=$1 out; shift
	out=$(ip netns exec "$MP_CLI" "$MP_XFER" "$@" -p 80 -s 1000000 -S 3 -T 20 2>&1)
	mp_info "$desc: $out"
	mp_check "$desc: tagged, accepted, relayed" \
		test "$(mp_field "$out" recv 2>/dev/null)" = 100000
}
t0=$(mp_proxy_stat "$MP_CLI" ClientTagged) a0=$(mp_proxy_stat "$MP_PRX" SynAccepted)
run "MPTCP, IPv4 target" -c 10.0.3.2
run "TCP, IPv4 target" -m tcp -c 10.0.3.2
d0=$(mp_proxy_stat "$MP_CLI" ClientDroppedTimestamps)
run "MPTCP, IPv6 target" -6 -c 2001:db8:3::2
wait "$MP_LAST_PID"
t1=$(mp_proxy_stat "$MP_CLI" ClientTagged) a1=$(mp_proxy_stat "$MP_PRX" SynAccepted)
mp_check "3 SYNs tagged on the client ($t0 -> $t1), 3 accepted by the gate ($a0 -> $a1)" \
	test "$t1" = $((t0 + 3)) -a "$a1" = $((a0 + 3))
mp_check "the IPv6 SYN lost its timestamps to make room" \
	test "$(mp_proxy_stat "$MP_CLI" ClientDroppedTimestamps)" = $((d0 + 1))
mp_check "the server saw the client's bytes" \
	test "$(grep -c 'recv=1000000 recv_sum=' "$MP_TMP/srv")" = 3

# A DNAT without the mark is not proxied: no option, and the gate resets it.
n0=$(mp_proxy_stat "$MP_PRX" RefusedNoTarget) t0=$(mp_proxy_stat "$MP_CLI" ClientTagged)
out=$(ip netns exec "$MP_CLI" "$MP_XFER" -c 198.51.100.7 -p 80 -s 1000 -T 5 2>&1)
mp_check "unmarked DNAT: not tagged, refused by the gate ($out)" \
	test "$(mp_proxy_stat "$MP_PRX" RefusedNoTarget)" = $((n0 + 1)) -a "$(mp_proxy_stat "$MP_CLI" ClientTagged)" = "$t0"

# A retransmitted SYN carries the option too: the proxy drops the first SYN of the next
# connection, the client's retransmission is tagged again and accepted.
ip netns exec "$MP_PRX" nft -f - <<EOF2
table inet droponce {
	chain in {
		type filter hook input priority -10;
		tcp dport $MP_PROXY_PORT tcp flags syn / syn,ack limit rate over 1/minute burst 1 packets accept
		tcp dport $MP_PROXY_PORT tcp flags syn / syn,ack counter drop
	}
}
EOF2
t0=$(mp_proxy_stat "$MP_CLI" ClientTagged) a0=$(mp_proxy_stat "$MP_PRX" SynAccepted)
mp_bg "$MP_TMP/srv2" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -s 1000 -T 30
mp_wait_listen "$MP_SRV" 80
out=$(ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -s 1000 -T 20 2>&1)
wait "$MP_LAST_PID"
t1=$(mp_proxy_stat "$MP_CLI" ClientTagged) a1=$(mp_proxy_stat "$MP_PRX" SynAccepted)
mp_check "first SYN dropped: the retransmission was tagged too and accepted (tagged $t0 -> $t1, accepted $a0 -> $a1)" \
	eval '[ "$(mp_field "$out" recv)" = 1000 ] && [ $t1 -ge $((t0 + 2)) ] && [ $a1 = $((a0 + 1)) ]'
ip netns exec "$MP_PRX" nft delete table inet droponce

# SYN cookies on the proxy: the gate keeps no per-SYN state and the target is found by
# the client's address and port, so proxied connections still work.
ip netns exec "$MP_PRX" sysctl -qw net.ipv4.tcp_syncookies=2
mp_bg "$MP_TMP/srv3" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -s 200000 -S 4 -T 30
mp_wait_listen "$MP_SRV" 80
out=$(ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -s 300000 -S 5 -T 20 2>&1)
wait "$MP_LAST_PID"
srv=$(grep '^sent=' "$MP_TMP/srv3")
cookies=$(mp_counter "$MP_PRX" TcpExtSyncookiesSent)
mp_check "with SYN cookies always on ($cookies sent), a proxied transfer works" \
	eval 'mp_same_stream "$out" "$srv" && [ "$cookies" -ge 1 ]'

mp_cleanup
mp_check "module unloads" mp_module_unload
mp_exit
