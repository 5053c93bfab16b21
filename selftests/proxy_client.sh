#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The client side: an nftables rule selects connections (DNAT to the proxy, plus a
# conntrack mark), and the module adds the original destination to their SYNs as a
# proxy-target option. The proxy's gate must accept those SYNs (so the option and the
# rewritten checksums are right) for MPTCP and plain TCP, IPv4 and IPv6 (where the SYN
# loses its timestamps to make room); connections without the mark are not tagged and
# the gate refuses them. Here a user-space listener on the proxy port stands in for the
# relay.
. "$(dirname "$0")/lib.sh"

PORT=1080 MARK=0x4d50

mp_init
mp_require_root
mp_require_cmd nft
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }

mp_ns_new CLI PRX || { mp_result $KSFT_FAIL "namespaces"; mp_exit; }
mp_link "$CLI" c1 10.0.1.1/24 "$PRX" p1 10.0.1.2/24
ip -n "$CLI" addr add 2001:db8:1::1/64 dev c1 nodad
ip -n "$PRX" addr add 2001:db8:1::2/64 dev p1 nodad
ip -n "$CLI" route add default via 10.0.1.2
ip -n "$CLI" -6 route add default via 2001:db8:1::2
ip netns exec "$PRX" sysctl -qw net.mptcp_proxy.port=$PORT \
	net.mptcp_proxy.allowed_clients="10.0.1.0/24 2001:db8:1::/64" \
	net.mptcp_proxy.allowed_targets="0.0.0.0/0 ::/0" net.mptcp_proxy.allowed_ports=1-65535
ip netns exec "$CLI" sysctl -qw net.mptcp_proxy.client_ct_mark=$MARK
ip netns exec "$CLI" nft -f - <<EOF2
table inet mp {
	chain out {
		type nat hook output priority -100;
		ip daddr 203.0.113.0/24 tcp dport 80 ct mark set $MARK dnat ip to 10.0.1.2:$PORT
		ip6 daddr 2001:db8:5::/48 tcp dport 80 ct mark set $MARK dnat ip6 to [2001:db8:1::2]:$PORT
		ip daddr 198.51.100.0/24 tcp dport 80 dnat ip to 10.0.1.2:$PORT
	}
}
EOF2
cstat() { ip netns exec "$1" awk -v n="Proxy$2" '$1 == n { print $2 }' /proc/net/mptcp_proxy_stat; }

mp_bg "$MP_TMP/srv" ip netns exec "$PRX" "$MP_XFER" -l -6 -p $PORT -n 3 -s 100000 -T 30
mp_wait_listen "$PRX" $PORT
run() { # run DESC XFER_ARGS...: one transfer through the DNAT; checks it completed.
	local desc=$1 out; shift
	out=$(ip netns exec "$CLI" "$MP_XFER" "$@" -p 80 -s 1000000 -S 3 -T 10 2>&1)
	mp_info "$desc: $out"
	mp_check "$desc: connection accepted by the proxy's gate, data moved" \
		test "$(mp_field "$out" recv 2>/dev/null)" = 100000
}
t0=$(cstat "$CLI" ClientTagged) a0=$(cstat "$PRX" SynAccepted)
run "MPTCP, IPv4 target" -c 203.0.113.9
run "TCP, IPv4 target" -m tcp -c 203.0.113.9
d0=$(cstat "$CLI" ClientDroppedTimestamps)
run "MPTCP, IPv6 target" -6 -c 2001:db8:5::9
mp_check "3 SYNs tagged, 3 accepted ($(cstat "$CLI" ClientTagged) tagged, $(cstat "$PRX" SynAccepted) accepted)" \
	test "$(cstat "$CLI" ClientTagged)" = $((t0 + 3)) -a "$(cstat "$PRX" SynAccepted)" = $((a0 + 3))
mp_check "the IPv6 SYN lost its timestamps to make room" \
	test "$(cstat "$CLI" ClientDroppedTimestamps)" = $((d0 + 1))
wait "$MP_LAST_PID"
mp_check "the listener saw the right bytes" \
	test "$(grep -c 'recv=1000000 recv_sum=' "$MP_TMP/srv")" = 3

# A DNAT without the mark is not proxied: no option, and the gate resets it.
n0=$(cstat "$PRX" RefusedNoTarget)
out=$(ip netns exec "$CLI" "$MP_XFER" -c 198.51.100.7 -p 80 -s 1000 -T 5 2>&1)
mp_check "unmarked DNAT: not tagged, refused by the gate ($out)" \
	test "$(cstat "$PRX" RefusedNoTarget)" = $((n0 + 1))

mp_cleanup
mp_check "module unloads" mp_module_unload
mp_exit
