#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hostile SYNs at the proxy, crafted on raw sockets, with the counters as witnesses:
#  1. Random option lists (thousands): each SYN moves exactly one of the gate's
#     counters; the gate still answers a valid SYN afterwards.
#  2. Every forbidden target in every encoding (IPv4 in the IPv4 form, and as
#     IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6; the proxy's own addresses,
#     those of local (AnyIP) routes included; the internal ranges under a catch-all):
#     each refused, counted by reason.
#  3. The option on segments that are not a SYN (SYN-ACK, ACK, RST, FIN): no counter
#     moves, nothing is answered by the gate.
#  4. A flood of valid SYNs from one client: it gets its quota of pending targets and
#     no more (counted), and a proxied transfer of another client works meanwhile.
#  5. A second SYN of a pending connection naming another target: refused, the entry
#     dropped (counted); the first SYN's handshake, completed by hand, is then accepted
#     without a target and reset (counted).
. "$(dirname "$0")/lib.sh"

MP_SYNRAW=${MP_SYNRAW:-$MP_DIR/synraw}
NRANDOM=${NRANDOM:-3000}
NFLOOD=${NFLOOD:-3000}

mp_init
mp_require_root
mp_require_mptcp
mp_require_cmd nft
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_kmemleak_available && mp_kmemleak_clear
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }
mp_proxy_topology || { mp_result $KSFT_FAIL "topology set-up"; mp_exit; }
PORT=$MP_PROXY_PORT PRX_ADDR=10.0.0.1
C=10.0.1.1 C2=10.0.2.1

stat() { mp_proxy_stat "$MP_PRX" "$1"; }
# The sum of every counter the gate moves once per SYN to the proxy port.
gate_total() {
	ip netns exec "$MP_PRX" awk '$1 ~ /^Proxy(SynAccepted|SynJoin|Refused[A-Za-z]*|Pending(Full|ClientQuota|Conflict))$/ && $1 != "ProxyRefusedTooMany" && $1 != "ProxyRefusedClientTooMany" { s += $2 } END { print s + 0 }' /proc/net/mptcp_proxy_stat
}
# The sum of every counter (not the two gauges at the end).
all_total() {
	ip netns exec "$MP_PRX" awk '$1 != "ProxyConnActive" && $1 != "ProxyPending" { s += $2 } END { print s + 0 }' /proc/net/mptcp_proxy_stat
}
hexport() { printf '%04x' "$1"; }
opt4() { echo "fd0b4d5014$(hexport "$2")$(printf '%02x' ${1//./ })"; }
opt6() { echo "fd174d5016$(hexport "$2")$1"; }
MSS=020405b4 MPC=1e040181
syn() { ip netns exec "$MP_CLI" "$MP_SYNRAW" "$@"; }

# What reaches the proxy: SYNs to the port, counted by nftables before the gate (a
# flood loses packets on the shaped links before that).
ip netns exec "$MP_PRX" nft -f - <<EOF2
table inet hostile {
	chain in {
		type filter hook input priority -10;
		ip saddr $C tcp dport $PORT tcp flags & (syn | ack | rst) == syn counter
		ip saddr $C2 tcp dport $PORT tcp flags & (syn | ack | rst) == syn counter
	}
}
EOF2
# arrived ADDR: SYNs from ADDR that reached the proxy so far.
arrived() {
	ip netns exec "$MP_PRX" nft list chain inet hostile in |
		awk -v a="$1" '$0 ~ "saddr " a " " { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

mp_check "a valid SYN passes the gate" eval '[ "$(syn $C $PRX_ADDR $PORT $MSS$MPC$(opt4 10.0.3.2 80))" = synack ]'

# --- 1. random option lists
before=$(gate_total) in_before=$(arrived $C)
syn -n "$NRANDOM" -R 7 $C $PRX_ADDR $PORT > /dev/null
sleep 1
moved=$(( $(gate_total) - before )) in=$(( $(arrived $C) - in_before ))
mp_info "random lists: $in of $NRANDOM arrived, $moved decisions; refused for a bad list $(stat RefusedBadOptionList), no target $(stat RefusedNoTarget)"
mp_check "each random option list that arrived ($in) moved one gate counter ($moved)" \
	test "$moved" = "$in" -a "$in" -gt $((NRANDOM / 4))
mp_check "the gate still answers a valid SYN" eval '[ "$(syn $C $PRX_ADDR $PORT $MSS$MPC$(opt4 10.0.3.2 80))" = synack ]'

# --- 2. forbidden targets, every encoding, under a catch-all
ip netns exec "$MP_PRX" sysctl -qw net.mptcp_proxy.allowed_targets="0.0.0.0/0 ::/0"
bad=0 n=0
check_target() { # OPTION COUNTER
	local b a got
	b=$(stat "$2")
	got=$(syn $C $PRX_ADDR $PORT "$MSS$MPC$1")
	a=$(stat "$2")
	n=$((n + 1))
	if [ "$got" != rst ] || [ "$a" != $((b + 1)) ]; then
		mp_info "not refused as $2: option $1: $got, counter $b -> $a"; bad=$((bad + 1))
	fi
}
for t in 127.0.0.1 0.0.0.0 169.254.169.254 224.0.0.1 255.255.255.255; do
	check_target "$(opt4 $t 80)" RefusedTargetSpecial
done
# The proxy's own addresses include what local routes deliver to it (AnyIP), not only
# the interfaces' addresses.
ip -n "$MP_PRX" route add local 10.77.0.0/24 dev lo
ip -n "$MP_PRX" -6 route add local 2001:db8:77::/64 dev lo
for t in 10.0.0.1 10.0.1.2 10.0.3.1 10.77.0.5; do check_target "$(opt4 $t 80)" RefusedTargetIsProxy; done
for t in 10.9.9.9 172.16.0.1 192.168.1.1 100.64.0.1 198.18.0.1 240.0.0.1; do
	check_target "$(opt4 $t 80)" RefusedTargetInternal
done
# IPv6 forms (32 hex digits).
for t in 00000000000000000000000000000001 00000000000000000000000000000000 \
	fe800000000000000000000000000001 ff020000000000000000000000000001 \
	00000000000000000000ffff7f000001 00000000000000000000ffffa9fea9fe; do
	check_target "$(opt6 $t 80)" RefusedTargetSpecial
done
for t in 00000000000000000000ffff0a000001 20010db8000100000000000000000002 \
	20010db8007700000000000000000005; do
	check_target "$(opt6 $t 80)" RefusedTargetIsProxy
done
for t in 00000000000000000000ffff0a090909 0000000000000000000000000a090909 \
	0064ff9b00000000000000000a090909 0064ff9b0000000000000000e0000001 \
	20020a09090900000000000000000000 fd000ec2000000000000000000000254 \
	fc000000000000000000000000000001 20010000413600000000000000000001; do
	check_target "$(opt6 $t 80)" RefusedTargetInternal
done
mp_check "$n forbidden targets in every encoding refused, each counted by reason ($bad not)" test $bad = 0
ip netns exec "$MP_PRX" sysctl -qw net.mptcp_proxy.allowed_targets="10.0.3.0/24 2001:db8:3::/64"

# --- 3. the option on segments that are not a SYN
before=$(all_total)
answers=""
for f in 12 10 04 11 18; do
	answers="$answers $(syn -F $f $C $PRX_ADDR $PORT "$MSS$(opt4 10.0.3.2 80)")"
done
after=$(all_total)
mp_info "answers to SYN-ACK, ACK, RST, FIN-ACK, PSH-ACK with the option:$answers"
mp_check "the option on non-SYN segments moves no counter ($before -> $after)" test "$before" = "$after"

# --- 4. a flood of valid SYNs from one client, while another client transfers
quota_before=$(stat PendingClientQuota) accepted_before=$(stat SynAccepted)
joins_before=$(stat SynJoin) in_before=$(arrived $C2) c_before=$(arrived $C)
mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -s 2000000 -S 2 -T 60
mp_wait_listen "$MP_SRV" 80
syn -n "$NFLOOD" $C2 $PRX_ADDR $PORT "$MSS$MPC$(opt4 10.0.3.2 80)" > /dev/null &
flood=$!
ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -s 2000000 -S 1 -T 60 > "$MP_TMP/cli" 2>&1
wait $flood
wait "$MP_LAST_PID"
cli=$(grep '^sent=' "$MP_TMP/cli") srv=$(grep '^sent=' "$MP_TMP/srv")
quota=$(( $(stat PendingClientQuota) - quota_before ))
# From the flooding address come the flood and the transfer's MP_JOINs (its second
# path); the transfer's own SYN comes from the other address.
in=$(( $(arrived $C2) - in_before )) joins=$(( $(stat SynJoin) - joins_before ))
accepted=$(( $(stat SynAccepted) - accepted_before - ($(arrived $C) - c_before) ))
mp_info "flood of $NFLOOD: $((in - joins)) arrived, $accepted accepted, $quota over the client's quota, $(stat PendingFull) full"
mp_check "a transfer of another client completes during the flood" mp_same_stream "$cli" "$srv"
mp_check "the flooding client got its quota of 128 pending targets and no more" \
	test $((in - joins)) -gt 128 -a "$accepted" = 128 -a "$quota" = $((in - joins - 128))
mp_check "the pending table was never full ($(stat PendingFull))" test "$(stat PendingFull)" = 0

# --- 5. a conflicting second SYN, then the first one's handshake
# The client's own kernel would reset the SYN-ACK that synraw waits for: keep it quiet.
ip netns exec "$MP_CLI" nft add table inet hostile
ip netns exec "$MP_CLI" nft add chain inet hostile out '{ type filter hook output priority 0; }'
ip netns exec "$MP_CLI" nft add rule inet hostile out tcp sport 45678 tcp flags rst drop
conflict=$(stat PendingConflict) notarget=$(stat AcceptNoTarget)
syn -P 45678 -A 1500 $C $PRX_ADDR $PORT "$MSS$(opt4 10.0.3.2 80)" > "$MP_TMP/hs" &
hs=$!
sleep 0.5
second=$(syn -P 45678 $C $PRX_ADDR $PORT "$MSS$(opt4 10.0.3.2 443)")
wait $hs
sleep 1
mp_info "first SYN: $(cat "$MP_TMP/hs"); second SYN: $second"
mp_check "a second SYN naming another target is refused, the entry dropped (ProxyPendingConflict +$(( $(stat PendingConflict) - conflict )))" \
	test "$second" = rst -a "$(stat PendingConflict)" = $((conflict + 1))
mp_check "the first SYN's connection, accepted without a target, is reset (ProxyAcceptNoTarget +$(( $(stat AcceptNoTarget) - notarget )))" \
	test "$(cat "$MP_TMP/hs")" = established -a "$(stat AcceptNoTarget)" = $((notarget + 1))

[ $mp_nfail = 0 ] || ip netns exec "$MP_PRX" cat /proc/net/mptcp_proxy_stat 2>/dev/null | sed 's/^/# /'
mp_cleanup
mp_check "module unloads" mp_module_unload
mp_kmemleak_check
mp_exit
