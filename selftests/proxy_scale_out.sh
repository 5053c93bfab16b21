#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Several proxy hosts behind one service address (Documentation/scale-out.rst).
#
#   MP_CLI c1 10.0.1.1 (wifi)     --- r1 \                     / rp1 --- e0 10.0.11.2 PRX1
#          c2 10.0.2.1 (cellular) --- r2 - MP_RTR (ECMP to    -- rp2 --- e0 10.0.12.2 PRX2
#                                          10.0.0.1)           \ rp3 --- e0 10.0.13.2 PRX3
#                                   r3 10.0.3.1 --- s3 10.0.3.2 MP_SRV (legacy, MPTCP off)
#
# Each proxy host has the service address 10.0.0.1 on lo; the router (the load
# balancer) spreads connections to it over the three with a resilient nexthop group
# hashed on the 4-tuple read from the headers (fib_multipath_hash_policy=3). Each proxy
# sets MP_CAPABLE's C
# flag (net.mptcp.allow_join_initial_addr_port=0) and announces its own address and a
# join port (ip mptcp endpoint ... port 1081 signal); the client keeps upstream's default
# limits and one "subflow" endpoint on cellular, so its joins go to the announced address.
#  1. NCONN concurrent proxied connections, both ways, checksummed (every one). Their
#     joins: none meets a host without its token (MIBs) or goes to another host; at
#     least 9 in 10 of the MPTCP connections still have their join, with data on it,
#     when the client looks at the end (not all: upstream MPTCP closes a few joined
#     subflows under this load, counted as MP_RSTs and printed; and up to 5 % of the
#     connections may fall back to TCP after lost SYNs). Each host's counters show its
#     share, joins and connections agree.
#  2. Control: without the C flag (the hosts still announce; the client, under its
#     default limits, then ignores the announcement), the client's joins go to the
#     service address and most land on a host that does not know their token (reset).
#  3. SYN cookies on every proxy host: the handshake completed by a cookie reaches the
#     host that saw the SYN (and remembered its target); first subflows and joins alike.
#  4. One host removed (taken out of the group, then its proxy stopped) while
#     connections run on all three: its connections end with a reset, the others
#     complete untouched with their joins, new connections go to the two that remain.
. "$(dirname "$0")/lib.sh"

NCONN=${NCONN:-100}
NLONG=${NLONG:-30}
VIP=10.0.0.1
VIP6=2001:db8::1
JOIN_PORT=1081
# Queues of 250 packets (150 ms on WiFi, 300 ms on cellular): long enough that
# handshakes are seldom lost to a full queue (a connection whose MP_CAPABLE SYN is lost
# twice falls back to TCP, counted below); 1000 packets made the cellular round trip
# 1.8 s, joins then came seconds late and carried next to nothing.
QLIMIT=${QLIMIT:-250}
# The client's paths (Mbit/s): enough for every connection to move data on both, not so
# much that relaying it saturates an emulated guest.
WIFI_MBIT=${WIFI_MBIT:-20} CELL_MBIT=${CELL_MBIT:-10}
# DUR: seconds each transfer of part 1 sends; its joins are checked while they run.
DUR=${DUR:-12}

mp_init
mp_require_root
mp_require_mptcp
mp_require_cmd nft
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
# Memory. Every endpoint of the test shares one kernel's TCP memory (net.ipv4.tcp_mem,
# pages, all namespaces). Past its pressure threshold 6.12's MPTCP misbehaves in two ways
# (proxy-admin.rst, "Memory"): it drops data TCP has acknowledged (MPTcpExtRcvPruned),
# repaired only by slow connection-level retransmissions, and a subflow carrying data
# both ways can deadlock for good (both ends' ACKs dropped as old by the other). With
# buffers autotuned up to the defaults (6 MB / 4 MB a socket) the transfers below, each
# sending as much as it can for a few seconds, take 300 MB and more; so, as an operator
# sizes a host for its connections, the sockets' buffers are bounded to what these paths
# need (a few hundred kbit/s per connection, RTTs up to 300 ms), and tcp_mem is three
# times the boot default (about 110 MB in use at the peak against a pressure threshold
# of 274 MB); the test checks that pressure was never entered. Restored on exit.
RMEM_MAX=${RMEM_MAX:-262144} WMEM_MAX=${WMEM_MAX:-131072}
tcp_mem_saved=$(cat /proc/sys/net/ipv4/tcp_mem)
trap 'kill $MEM_WATCH 2>/dev/null; sysctl -qw net.ipv4.tcp_mem="$tcp_mem_saved"; mp_cleanup; rm -rf "$MP_TMP"' EXIT
sysctl -qw net.ipv4.tcp_mem="$(echo $tcp_mem_saved | awk '{ print $1 * 3, $2 * 3, $3 * 3 }')" ||
	mp_skip_all "cannot set net.ipv4.tcp_mem"
mp_kmemleak_available && mp_kmemleak_clear
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }

# c_flag K 0|1: proxy host K sets MP_CAPABLE's C flag (0: no joins to the service
# address) or not (1, upstream's default: the client joins the service address, as it
# does with a single proxy, and ignores the ADD_ADDR under its default limits).
c_flag() {
	ip netns exec "${PRX[$1]}" sysctl -qw net.mptcp.allow_join_initial_addr_port="$2"
}

topology() {
	local k
	mp_ns_new MP_CLI MP_RTR MP_SRV PRX1 PRX2 PRX3 || return 1
	PRX=("" "$PRX1" "$PRX2" "$PRX3")
	mp_link "$MP_CLI" c1 10.0.1.1/24 "$MP_RTR" r1 10.0.1.2/24 || return 1
	mp_link "$MP_CLI" c2 10.0.2.1/24 "$MP_RTR" r2 10.0.2.2/24 || return 1
	mp_link "$MP_RTR" r3 10.0.3.1/24 "$MP_SRV" s3 10.0.3.2/24 || return 1
	# The hash of the 4-tuple, computed from the headers (policy 3, fields: addresses,
	# protocol, ports). Policy 1 would take a hash the packet already carries: over veth
	# that is the sender's socket hash, which TCP changes at each retransmission timeout
	# (sk_rethink_txhash), and the flow would move to another host.
	ip netns exec "$MP_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.fib_multipath_hash_policy=3 net.ipv4.fib_multipath_hash_fields=0x37 \
		net.ipv6.fib_multipath_hash_policy=3 net.ipv6.fib_multipath_hash_fields=0x37
	ip -n "$MP_CLI" addr add 2001:db8:1::1/64 dev c1 nodad
	ip -n "$MP_RTR" addr add 2001:db8:1::2/64 dev r1 nodad
	ip -n "$MP_CLI" addr add 2001:db8:2::1/64 dev c2 nodad
	ip -n "$MP_RTR" addr add 2001:db8:2::2/64 dev r2 nodad
	ip -n "$MP_RTR" addr add 2001:db8:3::1/64 dev r3 nodad
	ip -n "$MP_SRV" addr add 2001:db8:3::2/64 dev s3 nodad
	for k in 1 2 3; do
		mp_link "$MP_RTR" rp$k 10.0.1$k.1/24 "${PRX[$k]}" e0 10.0.1$k.2/24 || return 1
		ip -n "$MP_RTR" addr add 2001:db8:1$k::1/64 dev rp$k nodad
		ip -n "${PRX[$k]}" addr add 2001:db8:1$k::2/64 dev e0 nodad
		ip -n "${PRX[$k]}" addr add $VIP/32 dev lo
		ip -n "${PRX[$k]}" addr add $VIP6/128 dev lo
		ip -n "${PRX[$k]}" route add default via 10.0.1$k.1
		ip -n "${PRX[$k]}" -6 route add default via 2001:db8:1$k::1
		ip -n "$MP_RTR" nexthop add id $k via 10.0.1$k.2 dev rp$k || return 1
		ip -n "$MP_RTR" nexthop add id $((k + 3)) via 2001:db8:1$k::2 dev rp$k || return 1
		ip -n "${PRX[$k]}" mptcp limits set subflow 2 add_addr_accepted 0
		# The join address: IPv4 first (see the IPv6 part below).
		ip -n "${PRX[$k]}" mptcp endpoint add 10.0.1$k.2 port $JOIN_PORT signal || return 1
		ip -n "${PRX[$k]}" mptcp endpoint add 2001:db8:1$k::2 port $JOIN_PORT signal || return 1
		# A lost ADD_ADDR is sent again after this long (upstream's default: 120 s).
		ip netns exec "${PRX[$k]}" sysctl -qw net.mptcp.add_addr_timeout="${ADD_ADDR_TIMEOUT:-2}"
		c_flag $k 0 || return 1
		ip netns exec "${PRX[$k]}" sysctl -qw \
			net.mptcp_proxy.allowed_clients="10.0.0.0/8 2001:db8::/32" \
			net.mptcp_proxy.allowed_targets="10.0.3.0/24 2001:db8:3::/64" \
			net.mptcp_proxy.allowed_ports="80 81" \
			net.mptcp_proxy.port=$MP_PROXY_PORT || return 1
	done
	# idle_timer: a bucket that moved nothing for that long may be given to another
	# host when the group is rebalanced; longer than the test, so only the removed
	# host's buckets move.
	ip -n "$MP_RTR" nexthop add id 10 group 1/2/3 type resilient buckets 96 idle_timer 600 || return 1
	ip -n "$MP_RTR" route add $VIP/32 nhid 10 || return 1
	ip -n "$MP_RTR" nexthop add id 20 group 4/5/6 type resilient buckets 96 idle_timer 600 || return 1
	ip -n "$MP_RTR" -6 route add $VIP6/128 nhid 20 || return 1
	ip netns exec "$MP_SRV" sysctl -qw net.mptcp.enabled=0
	for k in "$MP_CLI" "$MP_SRV" "${PRX[@]:1}"; do
		ip netns exec "$k" sysctl -qw net.ipv4.tcp_rmem="4096 131072 $RMEM_MAX" \
			net.ipv4.tcp_wmem="4096 16384 $WMEM_MAX" || return 1
	done
	ip -n "$MP_SRV" route add default via 10.0.3.1
	ip -n "$MP_SRV" -6 route add default via 2001:db8:3::1
	mp_client_paths && mp_client_via_proxy $VIP $VIP6 10.0.3.0/24 2001:db8:3::/64 || return 1
	# A connection whose MP_CAPABLE SYN was lost twice and whose plain TCP retry got
	# through makes 6.12 take MPTCP for blocked on the path: the namespace then opens
	# every new connection as plain TCP for net.mptcp.blackhole_timeout (an hour),
	# unless an MPTCP connection already under way completes first (MPTcpExtBlackhole).
	# Here such SYNs are lost in full queues, not to a middlebox; without this, every
	# later part could run without MPTCP after one such loss.
	ip netns exec "$MP_CLI" sysctl -qw net.mptcp.blackhole_timeout=0 || return 1
	mp_shape "$MP_CLI" c1 $WIFI_MBIT 5 $QLIMIT && mp_shape "$MP_RTR" r1 $WIFI_MBIT 5 $QLIMIT &&
	mp_shape "$MP_CLI" c2 $CELL_MBIT 10 $QLIMIT && mp_shape "$MP_RTR" r2 $CELL_MBIT 10 $QLIMIT
}

topology || { mp_result $KSFT_FAIL "topology set-up"; mp_exit; }
mp_result $KSFT_PASS "topology: client (wifi, cellular), load-balancing router, 3 proxy hosts behind $VIP, legacy server"

# The highest TCP memory in use (pages, /proc/net/sockstat: the whole kernel's) while the
# test runs, and whether TCP was ever seen under memory pressure (the "press" column of
# TCP in /proc/net/protocols: the global flag, also set if it was before the test began;
# sampled every half second) or entered it (TcpExtTCPMemoryPressures, counted in the
# namespace of the socket that did, since the test began).
echo 0 > "$MP_TMP/mem_peak"
echo no > "$MP_TMP/mem_press"
( peak=0
  while :; do
	m=$(awk '/^TCP:/ { print $NF }' /proc/net/sockstat)
	[ -z "$m" ] || [ "$m" -le "$peak" ] || { peak=$m; echo "$peak" > "$MP_TMP/mem_peak"; }
	[ "$(awk '$1 == "TCP" { print $5 }' /proc/net/protocols)" != yes ] || echo yes > "$MP_TMP/mem_press"
	sleep 0.5
  done ) &
MEM_WATCH=$!
pressures() {
	local ns n=0
	for ns in "$MP_CLI" "$MP_RTR" "$MP_SRV" "$PRX1" "$PRX2" "$PRX3"; do
		n=$((n + $(mp_counter "$ns" TcpExtTCPMemoryPressures)))
	done
	# The root namespace's count since boot: earlier tests of the same guest count too.
	echo $((n + $(nstat -asz TcpExtTCPMemoryPressures 2>/dev/null | awk '$1 == "TcpExtTCPMemoryPressures" { print $2; f=1 } END { if (!f) print 0 }') - PRESSURES0))
}
PRESSURES0=0
PRESSURES0=$(pressures)

# Counters: nstat (MIB) or the module's, per host and summed over the hosts.
mib() { mp_counter "${PRX[$1]}" "$2"; }
sum_pst() { echo $(( $(mp_proxy_stat "$PRX1" "$1") + $(mp_proxy_stat "$PRX2" "$1") + $(mp_proxy_stat "$PRX3" "$1") )); }
# snap NAME: remember every counter the checks compare, as NAME_<counter>_<host>.
snap() {
	local k c
	for k in 1 2 3; do
		for c in MPTcpExtMPJoinSynRx MPTcpExtMPJoinAckRx MPTcpExtMPJoinNoTokenFound \
			TcpExtSyncookiesRecv MPTcpExtMPRstRx MPTcpExtMPRstTx; do
			printf -v "$1_${c}_$k" '%s' "$(mib $k $c)"
		done
		printf -v "$1_ConnAccepted_$k" '%s' "$(mp_proxy_stat "${PRX[$k]}" ConnAccepted)"
	done
	for c in MPTcpExtMPJoinSynAckRx MPTcpExtAddAddr MPTcpExtMPJoinSynAckHMacFailure \
		MPTcpExtMPRstTx MPTcpExtMPRstRx; do
		printf -v "$1_${c}_c" '%s' "$(mp_counter "$MP_CLI" $c)"
	done
}
# delta BEFORE AFTER COUNTER HOST: the change of a counter between two snaps.
delta() { local a="$1_$3_$4" b="$2_$3_$4"; echo $(( ${!b} - ${!a} )); }
# hosts_delta BEFORE AFTER COUNTER: the change of a counter summed over the three hosts.
hosts_delta() { echo $(( $(delta "$1" "$2" "$3" 1) + $(delta "$1" "$2" "$3" 2) + $(delta "$1" "$2" "$3" 3) )); }

# run_many NAME N SERVER_ARGS -- CLIENT_ARGS: N concurrent clients against one server
# (MP_SRV, PORT or 80; the clients connect to TARGET, by default 10.0.3.2) in the
# background; outputs in $MP_TMP/NAME.srv and NAME.<i>; the server's pid in MANY_SRV and
# the clients' in MANY_PIDS.
run_many() {
	local name=$1 n=$2 i sargs=() cargs=()
	shift 2
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift; cargs=("$@")
	rm -f "$MP_TMP/$name".*
	mp_bg "$MP_TMP/$name.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p "${PORT:-80}" -n "$n" "${sargs[@]}"
	MANY_SRV=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" "${PORT:-80}"
	# One process in the client's namespace starts them all: an "ip netns exec" each
	# takes about 0.4 s on an emulated guest, longer than the connections would overlap.
	# Each client its own seed: the pairs of streams are told apart by their checksums.
	# 20 ms apart (2 s for 100), as clients come, so that not all first windows burst
	# into the queues in one instant (it did not change the TCP fallbacks counted below).
	mp_bg "$MP_TMP/$name.spawn" ip netns exec "$MP_CLI" bash -c '
		trap "kill \$(jobs -p) 2>/dev/null" TERM
		out=$1 n=$2; shift 2
		for i in $(seq "$n"); do "$@" -S $((1000 + i)) > "$out.$i" 2>&1 & sleep 0.02; done
		wait' - "$MP_TMP/$name" "$n" "$MP_XFER" -c "${TARGET:-10.0.3.2}" -p "${PORT:-80}" "${cargs[@]}"
	MANY_PIDS=("$MP_LAST_PID")
}
# wait_many SECS: waits for the clients and the server of the last run_many; if clients
# still run SECS from now (every transfer here takes a few seconds, so they are stuck),
# dumps the state of every connection left before waiting for their timeouts.
wait_many() {
	local until=$((SECONDS + $1)) k
	while kill -0 "${MANY_PIDS[@]}" 2>/dev/null && [ $SECONDS -lt $until ]; do sleep 1; done
	if kill -0 "${MANY_PIDS[@]}" 2>/dev/null; then
		mp_info "--- clients still running after $1 s: the connections left"
		ip netns exec "$MP_CLI" ss -tinmMHe state connected exclude time-wait | sed 's/^/# client: /'
		for k in 1 2 3; do
			ip netns exec "${PRX[$k]}" awk 'NR > 1' /proc/net/mptcp_proxy | sed "s/^/# host $k proxy: /"
			ip netns exec "${PRX[$k]}" ss -tinmMHe state connected exclude time-wait | sed "s/^/# host $k: /"
		done
		ip netns exec "$MP_SRV" ss -tinmHe state connected exclude time-wait | sed 's/^/# server: /'
		mp_info "$(grep '^TCP:' /proc/net/sockstat); tcp_mem $(cat /proc/sys/net/ipv4/tcp_mem); pressure entered $(pressures) times"
		# The signature of 6.12's deadlock under memory pressure: ACKs dropped as out of
		# window on both ends (proxy-admin.rst, "Memory").
		for k in "$MP_CLI" "${PRX[@]:1}"; do
			mp_info "$k: $(ip netns exec "$k" nstat -asz | awk '/TcpExtTCPACKSkippedSeq|TcpExtPAWSEstab|MPTcpExtRcvPruned|MPTcpExtSndWndShared/ { printf "%s %s ", $1, $2 }')"
		done
	fi
	wait "${MANY_PIDS[@]}"
	wait "$MANY_SRV"
}
# pairs NAME: one line per client of run NAME whose summary line matches one of the
# server's (sent = what the server received, and back): the server's peer (the proxy
# host that relayed it, by its own address) and the client's subflows (xfer -M).
pairs() {
	cat "$MP_TMP/$1".[0-9]* | grep -h '^sent=' | awk -v srv="$MP_TMP/$1.srv" '
		function f(line, key,   i, n, kv) {
			n = split(line, kv, " ")
			for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
			return ""
		}
		BEGIN {
			while ((getline l < srv) > 0) if (l ~ /^sent=/) {
				k = f(l, "recv") "/" f(l, "recv_sum") "/" f(l, "sent") "/" f(l, "sent_sum")
				host = f(l, "peer"); sub(/:[0-9]+$/, "", host)
				s[k] = s[k] " " host
			}
		}
		{
			k = f($0, "sent") "/" f($0, "sent_sum") "/" f($0, "recv") "/" f($0, "recv_sum")
			if (split(s[k], hosts, " ") == 0) next
			sub(/^ [^ ]*/, "", s[k])
			print hosts[1], f($0, "subflows"), f($0, "sf_peer"), f($0, "sf_rx"), f($0, "sf_tx")
		}'
}
intact() { pairs "$1" | wc -l; }
# joined NAME: how many intact clients of run NAME had two subflows, the second to the
# join port of the very host that relayed the connection, and moved data on it (more
# than 1000 bytes one way or the other); then how many of those did so both ways.
joined() {
	pairs "$1" | awk -v port=$JOIN_PORT '{
		np = split($3, peer, ","); split($4, rx, ","); split($5, tx, ",")
		for (j = 1; j <= np; j++)
			if (peer[j] == $1 ":" port || peer[j] == "[" $1 "]:" port) break
		# More than a FIN (bytes_received and bytes_acked count it).
		if ($2 == 2 && j <= np && (rx[j] > 1000 || tx[j] > 1000)) {
			n++
			if (rx[j] > 1000 && tx[j] > 1000) both++
		} else if (bad++ < 3) print "# not joined as expected: " $0 > "/dev/stderr"
	} END { print n + 0, both + 0 }'
}
# astray NAME: how many intact clients of run NAME had a subflow to the join port of a
# host other than the one that relayed the connection.
astray() {
	pairs "$1" | awk -v port=$JOIN_PORT '{
		np = split($3, peer, ",")
		for (j = 1; j <= np; j++)
			if (peer[j] ~ ":" port "$" && peer[j] != $1 ":" port && peer[j] != "[" $1 "]:" port) { n++; break }
	} END { print n + 0 }'
}
# check_joins WHAT NAME BEFORE AFTER: the joins of run NAME's MPTCP connections (those
# that did not fall back to TCP), between the snaps BEFORE and AFTER. Each must go to
# the host that holds its connection: no join met a host without its token, no
# connection had a subflow to another host. And they are taken there and carry data:
# at least 9 in 10 connections still had their join when the client looked (xfer -M,
# after its sending), with more than 1000 bytes on it (a join next to a faster WiFi
# subflow may carry one direction only, the scheduler's choice), and the hosts took at
# least as many joins. (Not all: under this load upstream MPTCP closes a few joined
# subflows again, or leaves them nearly unused next to a faster WiFi subflow; and the
# join counters may also see a late join of another part's connection.)
check_joins() {
	local what=$1 name=$2 before=$3 after=$4 joins notok rst joined both astray n synack
	joins=$(hosts_delta "$before" "$after" MPTcpExtMPJoinAckRx)
	notok=$(hosts_delta "$before" "$after" MPTcpExtMPJoinNoTokenFound)
	rst=$(hosts_delta "$before" "$after" MPTcpExtMPRstRx)
	# Subflows closed with MP_RST (RFC 8684 3.6) in the part: not asserted (upstream
	# closes a few joined subflows under this load; subflows reset as connections end
	# and a removed host's connections count too), reported.
	mp_info "$what: MP_RST sent by the client $(delta "$before" "$after" MPTcpExtMPRstTx c), received by the hosts $rst"
	synack=$(delta "$before" "$after" MPTcpExtMPJoinSynAckRx c)
	n=$(pairs "$name" | awk '$2 != 0' | wc -l)
	# (No process substitution: the guest has no /dev/fd.)
	set -- $(joined "$name")
	joined=$1 both=$2
	astray=$(astray "$name")
	mp_check "$what: $n MPTCP connections, $joined still joined at their host with data on the join at the end ($both both ways); $joins joins taken by the hosts, $synack answered at the client, $notok with an unknown token, $astray to another host" \
		test "$notok" = 0 -a "$astray" = 0 -a $((joined * 10)) -ge $((n * 9)) -a "$n" -gt 0 \
			-a "$joins" -ge "$joined" -a "$synack" -ge "$joined"
}
show_failed() {
	local f
	for f in "$MP_TMP/$1".[0-9]*; do
		grep -q '^sent=' "$f" || mp_info "failed client: $(cat "$f")"
	done | head -5
}

# --- 1. NCONN connections spread over the three hosts, each with its second subflow
snap s0
run_many main "$NCONN" -t "$DUR" -S 2 -T 120 -- -t "$DUR" -T 120 -M
wait_many 100
snap s1
good=$(intact main)
show_failed main
mp_check "$NCONN concurrent connections through 3 proxy hosts, both ways, checksums match ($good)" \
	test "$good" = "$NCONN"
# A connection whose MP_CAPABLE SYN went unanswered twice is retried as plain TCP by the
# client (MPTcpExtMPCapableSYNTXDrop; 6.12 falls back after two SYN timeouts, not
# configurable): here its SYN or SYN-ACK met a full 250-packet queue twice, as the
# transfers already running keep both directions of both paths full (tail drop; 0-3
# connections of 100 in 13 runs, with the starts 20 ms apart or not). Such a connection has no MPTCP and so no
# join; xfer -M reports no subflow for it. It must stay rare, or this part would test
# nothing.
fallback=$(pairs main | awk '$2 == 0' | wc -l)
syndrop=$(( $(mp_counter "$MP_CLI" MPTcpExtMPCapableSYNTXDrop) ))
mp_check "at most 5 % fell back to TCP after SYN timeouts ($fallback, SYNTXDrop $syndrop)" \
	test $((fallback * 20)) -le "$NCONN"
check_joins "each MPTCP connection's second subflow at the host that holds it" main s0 s1
share="" ok=1 sum=0
for k in 1 2 3; do
	acc=$(delta s0 s1 ConnAccepted $k) join=$(delta s0 s1 MPTcpExtMPJoinAckRx $k)
	notok=$(delta s0 s1 MPTcpExtMPJoinNoTokenFound $k)
	share="$share host$k: $acc connections, $join joins, $notok unknown tokens;"
	sum=$((sum + acc))
	# Each host its share (at least a tenth; P < 1e-7 of a false failure for 100
	# connections hashed over three), no join at a host that does not hold it.
	[ $((acc * 10)) -ge "$NCONN" ] && [ "$join" -le "$acc" ] && [ "$notok" = 0 ] || ok=0
done
mp_info "$share"
mp_info "memory after part 1: peak $(cat "$MP_TMP/mem_peak") pages in use; TCP memory pressure entered $(pressures) times"
mp_check "each host took its share, and joins only for connections it holds" \
	test $ok = 1 -a $sum = "$NCONN"
synack=$(delta s0 s1 MPTcpExtMPJoinSynAckRx c) addaddr=$(delta s0 s1 MPTcpExtAddAddr c)
hmac=$(delta s0 s1 MPTcpExtMPJoinSynAckHMacFailure c)
# ADD_ADDRs: each host's IPv4 one (sent again if its echo is late) and its IPv6 one.
mp_check "the client: $addaddr ADD_ADDRs received, $synack joins answered, $hmac HMAC failures" \
	test "$addaddr" -ge $((NCONN - fallback)) -a "$synack" -ge $((NCONN * 9 / 10)) -a "$hmac" = 0

# --- 1b. IPv6 clients and targets. Each host announces its IPv4 join address first,
# then its IPv6 one. An IPv6 address with a port does not fit beside TCP timestamps, so
# IPv4 connections (timestamps on) never get it (MPTcpExtAddAddrTxDrop) and join over
# IPv4; IPv6 proxied connections have no timestamps (the client drops them to fit the
# proxy-target option) and join the host's IPv6 address, the first one they can use.
snap s1
NV6=10
TARGET=2001:db8:3::2 run_many v6 $NV6 -6 -t 4 -S 12 -T 60 -- -6 -t 4 -T 60 -M
wait_many 40
snap s1b
good=$(intact v6)
show_failed v6
mp_info "IPv6 connections' subflows: $(pairs v6 | awk '{ print $3 }' | sort | uniq -c | sort -rn | head -3 | tr '\n' ';')"
mp_check "IPv6: $good of $NV6 connections intact, every join seen to its host's IPv6 address" \
	test "$good" = $NV6 -a "$(pairs v6 | awk '$2 == 2 && $3 !~ /,\[2001:db8:1[123]::2\]:/' | wc -l)" = 0
check_joins "IPv6" v6 s1 s1b

# --- 2. control: joins to the service address, as with a single proxy
for k in 1 2 3; do c_flag $k 1; done
snap s1
NCTL=30
run_many ctl $NCTL -t 3 -S 4 -T 60 -- -t 3 -T 60
wait_many 40
sleep 1
snap s2
notok=$(hosts_delta s1 s2 MPTcpExtMPJoinNoTokenFound)
arrived=$(hosts_delta s1 s2 MPTcpExtMPJoinSynRx)
# Hashed like new connections, two joins in three land on a host that does not hold
# theirs; at least one in three (P < 1e-3 of less, for 20 or more joins).
mp_check "control (no C flag): $notok of the $arrived joins that reached a host hit one without their token" \
	test "$arrived" -ge $((NCTL * 2 / 3)) -a $((notok * 3)) -ge "$arrived"
for k in 1 2 3; do c_flag $k 0; done

# --- 3. SYN cookies on every proxy host
for k in 1 2 3; do ip netns exec "${PRX[$k]}" sysctl -qw net.ipv4.tcp_syncookies=2; done
snap s2
NCK=30
no_target=$(sum_pst AcceptNoTarget)
run_many ck $NCK -t 6 -S 6 -T 60 -- -t 6 -T 60 -M
wait_many 40
snap s3
good=$(intact ck)
show_failed ck
cookies=$(hosts_delta s2 s3 TcpExtSyncookiesRecv)
ckjoins=$(hosts_delta s2 s3 MPTcpExtMPJoinAckRx)
# Every handshake got a cookie (tcp_syncookies=2), joins too: the first subflows are
# what the cookies counted beyond the joins.
mp_check "SYN cookies: $good of $NCK connections intact, $cookies handshakes completed by a cookie ($ckjoins of them joins)" \
	test "$good" = $NCK -a $((cookies - ckjoins)) -ge $NCK -a "$(sum_pst AcceptNoTarget)" = "$no_target"
check_joins "SYN cookies" ck s2 s3
for k in 1 2 3; do ip netns exec "${PRX[$k]}" sysctl -qw net.ipv4.tcp_syncookies=1; done

# --- 4. one host removed
# LONG: long enough for every connection to be up before the removal and to go on
# for a while after it (the removal waits for all of them, at most 30 s).
LONG=${LONG:-30}
snap s3b
run_many long "$NLONG" -t $LONG -S 8 -T 180 -- -t $LONG -T 180 -M
long_pids=("${MANY_PIDS[@]}") long_srv=$MANY_SRV
deadline=$((SECONDS + 30))
until [ "$(sum_pst ConnActive)" -ge "$NLONG" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
sleep 1	# and their joins
on3=$(mp_proxy_stat "${PRX[3]}" ConnActive)
active="$(mp_proxy_stat "${PRX[1]}" ConnActive)/$(mp_proxy_stat "${PRX[2]}" ConnActive)/$on3"
mp_check "before the removal all $NLONG connections run, on every host ($active)" \
	eval '[ $(( ${active//\// + } )) = $NLONG ] && ! echo "/$active/" | grep -q "/0/"'
# The load balancer takes host 3 out (its buckets go to the others, theirs stay), then
# the operator stops its proxy: every connection it holds is reset.
# (At once: host 3's connections must still be running when its proxy stops. In a run
# with several seconds between the two, three of them ended intact on their join to
# host 3, their first subflow hashed away and reset by another host; see scale-out.rst,
# "Test".)
ip -n "$MP_RTR" nexthop replace id 10 group 1/2 type resilient buckets 96 idle_timer 600
ip netns exec "${PRX[3]}" sysctl -qw net.mptcp_proxy.port=0
# New connections meanwhile go to hosts 1 and 2 only, and get their joins. (Host 3's
# proxy is stopped: one that the balancer still sent there would be refused, and so
# not intact.)
snap s4
# (The servers of the running connections still listen on port 80.)
PORT=81 run_many new 20 -t 6 -S 10 -T 60 -- -t 6 -T 60 -M
wait_many 40
snap s5
good=$(intact new)
show_failed new
new12=$(( $(delta s4 s5 ConnAccepted 1) + $(delta s4 s5 ConnAccepted 2) ))
mp_check "after the removal: $good of 20 new connections intact, $new12 on hosts 1-2, $(delta s4 s5 ConnAccepted 3) on host 3" \
	test "$good" = 20 -a "$new12" = 20 -a "$(delta s4 s5 ConnAccepted 3)" = 0
check_joins "after the removal" new s4 s5
wait "${long_pids[@]}"
wait "$long_srv"
snap s6
good=$(intact long)
joined=$(joined long) joined=${joined%% *}
# Untouched: each kept its first subflow (to the service address, now hashed over two
# hosts) to the end.
# A connection that fell back to TCP (no subflows listed: its MP_CAPABLE SYN was lost
# twice, see part 1) is its one TCP connection, intact or not.
first=$(pairs long | awk '$2 == 0 || $3 ~ /^10\.0\.3\.2:80(,|$)/' | wc -l)
# Reset by the proxy's MP_FASTCLOSE: ECONNRESET, or ENOTCONN when the client's own
# subflow reset closed its socket first (see proxy_relay.sh, part 3).
reset=$(grep -l -iE "reset|broken|not connected" "$MP_TMP"/long.[0-9]* | wc -l)
show_failed long
mp_info "long connections: $good intact, $first with their first subflow and $joined with their join to the end, $reset reset, host 3 held $on3"
on3_intact=$(pairs long | awk '$1 == "10.0.13.2"' | wc -l)
mp_check "the removed host's $on3 connections ended with a reset, the other $((NLONG - on3)) completed intact on their first subflow" \
	test "$on3" -gt 0 -a "$reset" = "$on3" -a "$good" = $((NLONG - on3)) -a "$first" = "$good" -a "$on3_intact" = 0
# The survivors' joins (counters from before the long run to its end: the new
# connections' joins fall in that span too, so they are bounds from above).
check_joins "the connections that survived the removal" long s3b s6
deadline=$((SECONDS + 10))
until [ "$(sum_pst ConnActive)" = 0 ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
mp_check "no proxy host is left with a connection" \
	test "$(sum_pst ConnActive)" = 0

# Memory (see the top): never under pressure, so neither of 6.12's failures under
# pressure can have played a part in the results above.
pruned=0
for ns in "$MP_CLI" "$PRX1" "$PRX2" "$PRX3"; do
	pruned=$((pruned + $(mp_counter "$ns" MPTcpExtRcvPruned)))
done
limit=$(awk '{ print $2 }' /proc/sys/net/ipv4/tcp_mem)
entered=$(pressures) press=$(cat "$MP_TMP/mem_press")
mp_check "TCP memory: peak $(cat "$MP_TMP/mem_peak") pages in use (pressure from $limit), pressure entered $entered times (seen: $press), MPTCP data pruned $pruned times" \
	test "$entered" = 0 -a "$press" = no -a "$pruned" = 0
if [ $mp_nfail != 0 ]; then
	for k in 1 2 3; do
		mp_info "--- host $k: non-zero counters"
		ip netns exec "${PRX[$k]}" awk '$2 != 0 { print "# " $0 }' /proc/net/mptcp_proxy_stat
		ip netns exec "${PRX[$k]}" nstat -as | awk '$2 != 0 && /MPTcp|Syncookies|Listen|Abort|Reset|Rst/ { print "# " $1, $2 }'
	done
	mp_info "--- client"
	ip netns exec "$MP_CLI" nstat -as | awk '$2 != 0 && /MPTcp|Abort|Reset|Rst/ { print "# " $1, $2 }'
fi
mp_cleanup
mp_module_unload
mp_check "the module unloads" test $? = 0
mp_kmemleak_check
mp_exit
