#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The MPTCP proxy end to end: a client with a "wifi" and a "cellular" path, the proxy,
# and a legacy server with MPTCP disabled. Applications on the client connect to the
# server; nftables sends them through the proxy, which relays to the server over TCP.
#  1. 32 MiB each way through the proxy: checksums match, the server sees the proxy as
#     its peer, both client paths carried data.
#  2. Mobility: wifi goes down mid-transfer, the transfer completes over cellular; wifi
#     comes back and carries data again.
#  3. A refused, an unreachable and a silent target: the client's connection is reset
#     within a second of the failure, the counter says why.
#  4. Plain TCP from the client (MPTCP fallback) is proxied too; IPv6 client and target.
#  5. Many concurrent connections opened, used and closed: none left afterwards.
#  6. Idle timeout: a connection with nothing to relay is reset on both sides after
#     net.mptcp_proxy.idle_timeout; a longer transfer that keeps moving is not.
#  7. rmmod with connections in flight (listed in /proc/net/mptcp_proxy): they are
#     reset, the module goes, no leak.
#  8. Deleting the namespaces of a running proxy (lia as its congestion control) after
#     a connection: the proxy's namespace is freed, so nothing keeps lia, and the module
#     unloads; TCP sockets of the init namespace's count are all gone.
. "$(dirname "$0")/lib.sh"

# RELAY_MIB and NCONN: smaller on the debug kernel (scripts/test.sh), which is slower.
SIZE=$((${RELAY_MIB:-32} * 1024 * 1024))
NCONN=${NCONN:-500}

mp_init
mp_require_root
mp_require_mptcp
mp_require_cmd nft
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_kmemleak_available && mp_kmemleak_clear
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }
mp_proxy_topology || { mp_result $KSFT_FAIL "topology set-up"; mp_exit; }
mp_result $KSFT_PASS "topology: client (wifi ${WIFI_MBIT:-40}, cellular ${CELL_MBIT:-10} Mbit/s), proxy, legacy server"

# xfer_pair NAME SERVER_ARGS -- CLIENT_ARGS: a server on the legacy host and a client,
# outputs in $MP_TMP/NAME.srv and NAME.cli; returns the client's status.
xfer_pair() {
	local name=$1; shift
	local sargs=() cargs=()
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift; cargs=("$@")
	mp_bg "$MP_TMP/$name.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp "${sargs[@]}"
	mp_wait_listen "$MP_SRV" 80
	ip netns exec "$MP_CLI" "$MP_XFER" "${cargs[@]}" > "$MP_TMP/$name.cli" 2>&1
	local rc=$?
	wait "$MP_LAST_PID"
	return $rc
}

# --- 1. bulk both ways
c1=$(mp_dev_bytes "$MP_CLI" c1 tx) c2=$(mp_dev_bytes "$MP_CLI" c2 tx)
r1=$(mp_dev_bytes "$MP_CLI" c1 rx) r2=$(mp_dev_bytes "$MP_CLI" c2 rx)
# Both directions share the paths; allow 4x the ideal time plus 30 s for an emulated,
# CPU-bound guest.
# BUDGET_X multiplies it where the guest, not the paths, sets the pace (the debug pass:
# 3; 8 MiB each way took 35-40 s there).
budget=$(( (SIZE * 8 * 2 * 4 / ((${WIFI_MBIT:-40} + ${CELL_MBIT:-10}) * 1000000) + 30) * ${BUDGET_X:-1} ))
xfer_pair bulk -p 80 -s $SIZE -S 2 -T $budget -- -c 10.0.3.2 -p 80 -s $SIZE -S 1 -T $budget
cli=$(grep '^sent=' "$MP_TMP/bulk.cli") srv=$(grep '^sent=' "$MP_TMP/bulk.srv")
mp_info "client: $cli $(grep -v '^sent=' "$MP_TMP/bulk.cli")"
mp_info "server: $srv $(grep -v '^sent=' "$MP_TMP/bulk.srv")"
mp_check "$((SIZE >> 20)) MiB each way through the proxy, checksums match" \
	eval 'mp_same_stream "$cli" "$srv" && [ "$(mp_field "$cli" sent)" = $SIZE ] && [ "$(mp_field "$srv" sent)" = $SIZE ]'
mp_check "the server's peer is the proxy ($(mp_field "$srv" peer))" \
	eval '[ "$(mp_field "$srv" peer | cut -d: -f1)" = 10.0.3.1 ]'
c1=$(( $(mp_dev_bytes "$MP_CLI" c1 tx) - c1 )) c2=$(( $(mp_dev_bytes "$MP_CLI" c2 tx) - c2 ))
r1=$(( $(mp_dev_bytes "$MP_CLI" c1 rx) - r1 )) r2=$(( $(mp_dev_bytes "$MP_CLI" c2 rx) - r2 ))
mp_info "client bytes: wifi tx $c1 rx $r1, cellular tx $c2 rx $r2"
# Each path must carry 1/20 of the transfer each way. The scheduler sends on the second,
# slower path only when the first is full: a guest too slow to fill wifi (the debug
# kernel's: 8 MiB each way at under 4 Mbit/s, cellular carrying 21 kB of it) leaves
# cellular idle by design. Its pass (scripts/test.sh) sets PATH_CHECK=0 and this check
# is not made there; the mobility part below still moves data over cellular.
min=$((SIZE / 20))
if [ "${PATH_CHECK:-1}" = 1 ]; then
	mp_check "both client paths carried data each way (>= $min bytes)" \
		test $c1 -ge $min -a $c2 -ge $min -a $r1 -ge $min -a $r2 -ge $min
else
	mp_info "not checked here (PATH_CHECK=0): both client paths carrying data each way"
fi

# --- 2. mobility: a download; wifi down after 2 s, back after 4 s
DL=$((16 * 1024 * 1024))
mp_bg "$MP_TMP/mob.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -s $DL -S 3 -T 120
srv_pid=$MP_LAST_PID
mp_wait_listen "$MP_SRV" 80
ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -T 120 > "$MP_TMP/mob.cli" 2>&1 &
cli_pid=$!
sleep 2
ip -n "$MP_CLI" link set c1 down
down_c2=$(mp_dev_bytes "$MP_CLI" c2 rx)
sleep 2
cell_during=$(( $(mp_dev_bytes "$MP_CLI" c2 rx) - down_c2 ))
ip -n "$MP_CLI" link set c1 up
ip -n "$MP_CLI" route replace default via 10.0.1.2 dev c1
up_c1=$(mp_dev_bytes "$MP_CLI" c1 rx)
wait $cli_pid; cli_rc=$?
wait $srv_pid
wifi_after=$(( $(mp_dev_bytes "$MP_CLI" c1 rx) - up_c1 ))
cli=$(grep '^sent=' "$MP_TMP/mob.cli") srv=$(grep '^sent=' "$MP_TMP/mob.srv")
mp_info "client: $cli; cellular carried $cell_during bytes with wifi down, wifi $wifi_after after"
mp_check "mobility: download intact across wifi down and up" \
	eval '[ $cli_rc = 0 ] && mp_same_stream "$cli" "$srv" && [ "$(mp_field "$cli" recv)" = $DL ]'
mp_check "cellular carried the transfer while wifi was down ($cell_during bytes)" test $cell_during -ge 100000
mp_check "wifi carried data again once back ($wifi_after bytes)" test $wifi_after -ge 100000

# --- 3. refused, unreachable and silent targets
# The reset must follow the upstream failure within a second: at once for a refusal or
# an unreachable route, after the connect timeout (connect_syn_retries=1: 1 + 2 s) for a
# target that never answers.
ip -n "$MP_PRX" route add unreachable 10.0.9.0/24
# The server silently drops what it gets for 10.0.8.0/24 (not its address, no forwarding).
ip -n "$MP_PRX" route add 10.0.8.0/24 via 10.0.3.2
for case in "refused 10.0.3.2 81 UpstreamRefused 0" "unreachable 10.0.9.9 80 UpstreamUnreachable 0" \
	"silent 10.0.8.8 80 UpstreamTimeout 3000"; do
	set -- $case
	before=$(mp_proxy_stat "$MP_PRX" "$4")
	fc_tx=$(mp_counter "$MP_PRX" MPTcpExtMPFastcloseTx) fc_rx=$(mp_counter "$MP_CLI" MPTcpExtMPFastcloseRx)
	start=$(date +%s%N)
	out=$(ip netns exec "$MP_CLI" "$MP_XFER" -c "$2" -p "$3" -s 100 -T 20 2>&1)
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	after=$(mp_proxy_stat "$MP_PRX" "$4")
	fc_tx=$(( $(mp_counter "$MP_PRX" MPTcpExtMPFastcloseTx) - fc_tx ))
	fc_rx=$(( $(mp_counter "$MP_CLI" MPTcpExtMPFastcloseRx) - fc_rx ))
	# RESET_SLACK_MS: 1.5 s (the debug kernel's pass: 4 s; there starting the client and
	# its handshake alone take over a second).
	limit=$(($5 + ${RESET_SLACK_MS:-1500}))
	# The proxy resets the client's MPTCP connection with MP_FASTCLOSE (MPFastcloseTx).
	# The client counts it (MPFastcloseRx) unless that RST was lost or came too late and a
	# plain RST for its next segment reset it (seen on the debug kernel). Its error is
	# ECONNRESET, or ENOTCONN when its own subflow's reset closed its MPTCP socket before
	# the fastclose was processed (6.12's mptcp_check_fastclose() sets no error on an
	# already closed socket, and recvmsg() then says ENOTCONN): either way the
	# application gets an error, not an end of data.
	mp_check "$1 target: client reset after ${ms} ms (failure at ~$5 ms; $out), Proxy$4 $before -> $after, fastclose tx $fc_tx rx $fc_rx" \
		eval '[ $ms -lt $limit ] && [ "$after" = $((before + 1)) ] && [ $fc_tx -ge 1 ] &&
			echo "$out" | grep -qiE "reset|refused|not connected"'
done

# --- 4. plain TCP client, IPv6
xfer_pair tcp -p 80 -s 1000000 -S 4 -T 30 -- -m tcp -c 10.0.3.2 -p 80 -s 2000000 -S 5 -T 30
cli=$(grep '^sent=' "$MP_TMP/tcp.cli") srv=$(grep '^sent=' "$MP_TMP/tcp.srv")
mp_check "plain TCP client (MPTCP fallback) proxied, checksums match" mp_same_stream "$cli" "$srv"
xfer_pair v6 -6 -p 80 -s 3000000 -S 6 -T 30 -- -6 -c 2001:db8:3::2 -p 80 -s 3000000 -S 7 -T 30
cli=$(grep '^sent=' "$MP_TMP/v6.cli") srv=$(grep '^sent=' "$MP_TMP/v6.srv")
mp_info "IPv6 client: $cli"
mp_check "IPv6 client and target, checksums match, the server's peer is the proxy" \
	eval 'mp_same_stream "$cli" "$srv" && mp_field "$srv" peer | grep -q "2001:db8:3::1"'

# --- 5. concurrency
mp_bg "$MP_TMP/many.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -n $NCONN -s 20000 -S 8 -T 120
srv_pid=$MP_LAST_PID
mp_wait_listen "$MP_SRV" 80
pids=()
for i in $(seq $NCONN); do
	ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -s 10000 -S 9 -T 120 > "$MP_TMP/many.$i" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
wait $srv_pid
good=$(grep -l 'recv=20000 ' "$MP_TMP"/many.[0-9]* | wc -l)
for f in "$MP_TMP"/many.[0-9]*; do
	grep -q 'recv=20000 ' "$f" || mp_info "failed client: $(cat "$f")"
done 2>/dev/null | head -5
srv_good=$(grep -c 'recv=10000 ' "$MP_TMP/many.srv")
active=$(mp_proxy_stat "$MP_PRX" ConnActive)
mp_check "$NCONN concurrent connections through the proxy all moved their data ($good clients, $srv_good server ends)" \
	test "$good" = $NCONN -a "$srv_good" = $NCONN
sleep 1
active=$(mp_proxy_stat "$MP_PRX" ConnActive)
left=$(ip netns exec "$MP_PRX" ss -Htn state established | wc -l)
mp_check "afterwards no proxied connection is left (active $active, established sockets $left)" \
	test "$active" = 0 -a "$left" = 0

# --- 6. idle timeout
sc() { ip netns exec "$MP_PRX" sysctl -q "$@"; }
mp_check "idle_timeout defaults to 600 s" eval '[ "$(sc -n net.mptcp_proxy.idle_timeout)" = 600 ]'
mp_check "idle_timeout refuses 86400 and junk, keeps its value" \
	eval '! sc -w net.mptcp_proxy.idle_timeout=86400 2>/dev/null && ! sc -w net.mptcp_proxy.idle_timeout=2s 2>/dev/null && [ "$(sc -n net.mptcp_proxy.idle_timeout)" = 600 ]'
# IDLE_S: the timeout of this part (the debug kernel's guest needs a longer one: a busy
# transfer there may stall for seconds). Up to 8 s the scan runs every second.
IDLE_S=${IDLE_S:-2}
sc -w net.mptcp_proxy.idle_timeout=$IDLE_S
# Both ends silent: neither sends, each waits for the other's EOF. The proxy resets both
# between the timeout and one scan period (1 s) after it, from the handshake.
before=$(mp_proxy_stat "$MP_PRX" ConnIdleTimeout)
mp_bg "$MP_TMP/idle.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -T 30
srv_pid=$MP_LAST_PID
mp_wait_listen "$MP_SRV" 80
start=$(date +%s%N)
out=$(ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -T 30 2>&1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $srv_pid
srv_out=$(cat "$MP_TMP/idle.srv")
after=$(mp_proxy_stat "$MP_PRX" ConnIdleTimeout)
mp_info "client: $out; server: $srv_out"
mp_check "idle connection reset after ${ms} ms (timeout $IDLE_S s, scan every 1 s), ProxyConnIdleTimeout $before -> $after" \
	eval '[ $ms -ge $((IDLE_S * 1000 - 100)) -a $ms -lt $((IDLE_S * 1000 + 2500)) ] && [ "$after" = $((before + 1)) ]'
mp_check "both ends saw the reset" \
	eval 'echo "$out" | grep -qi reset && echo "$srv_out" | grep -qi reset'
# A transfer that keeps moving for three times the timeout is not cut. What the proxy
# has queued (its upstream receive and client send buffers, megabytes) still drains after
# the senders stop: on the debug kernel the client finished 1-9 s after the server, and a
# slower machine's drain outlasted a 30 s margin; BUDGET_X scales it.
busy=$((3 * IDLE_S))
busy_t=$((busy + 30 * ${BUDGET_X:-1}))
xfer_pair busy -p 80 -t $busy -S 10 -T $busy_t -- -c 10.0.3.2 -p 80 -t $busy -S 11 -T $busy_t
cli=$(grep '^sent=' "$MP_TMP/busy.cli") srv=$(grep '^sent=' "$MP_TMP/busy.srv")
busy_idle=$(mp_proxy_stat "$MP_PRX" ConnIdleTimeout)
mp_info "busy client: $(tr '\n' ' ' < "$MP_TMP/busy.cli")"
mp_info "busy server: $(tr '\n' ' ' < "$MP_TMP/busy.srv"); ProxyConnIdleTimeout $after -> $busy_idle"
mp_check "a $busy s transfer with idle_timeout $IDLE_S s completes intact" \
	eval 'mp_same_stream "$cli" "$srv" && [ "$busy_idle" = $after ]'
sc -w net.mptcp_proxy.idle_timeout=0
mp_check "idle_timeout 0 turns it off" eval '[ "$(sc -n net.mptcp_proxy.idle_timeout)" = 0 ]'
# Unload below with the scan timer armed (a 30 s timeout: one scan every 3.75 s).
sc -w net.mptcp_proxy.idle_timeout=30

# --- 7. rmmod with connections in flight
# Transfers far longer than an rmmod takes (seconds on the debug kernel), so that each is
# still moving when it is cut.
mp_bg "$MP_TMP/rm.srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -n 4 -t 90 -T 120
mp_wait_listen "$MP_SRV" 80
for i in 1 2 3 4; do
	ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -t 90 -T 120 > "$MP_TMP/rm.$i" 2>&1 &
done
sleep 3
mp_info "before rmmod: ConnActive $(mp_proxy_stat "$MP_PRX" ConnActive)"
# /proc/net/mptcp_proxy lists them (proxy-admin.rst, "Connections"): client and target
# as connected, relaying, both sockets established; others than the admin get the
# header only.
listing=$(ip netns exec "$MP_PRX" cat /proc/net/mptcp_proxy)
echo "$listing" | sed 's/^/# /'
rows=$(echo "$listing" | awk 'NR > 1 && $1 ~ /^10\.0\.[12]\.1:[0-9]+$/ && $2 == "10.0.3.2:80" &&
	$3 == "relaying" && $5 == "ESTAB" && $9 == "ESTAB" && NF == 16' | wc -l)
header=$(echo "$listing" | head -1)
other=$(ip netns exec "$MP_PRX" "$MP_DIR/nocap" cat /proc/net/mptcp_proxy)
mp_check "/proc/net/mptcp_proxy: the 4 connections relaying ($rows rows), header only for a reader without CAP_NET_ADMIN" \
	eval '[ "$rows" = 4 ] && [ "$(echo "$listing" | wc -l)" = 5 ] && [ "$other" = "$header" ] &&
		[ "$(echo "$header" | wc -w)" = 16 ]'
start=$(date +%s%N)
rmmod mptcp_proxy; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
mp_check "rmmod with 4 connections in flight succeeds in ${ms} ms (no hang: < 30 s)" test $rc = 0 -a $ms -lt 30000
sleep 1
reset=$(grep -l -iE "reset|broken" "$MP_TMP"/rm.[1-4] | wc -l)
mp_check "their clients saw a reset ($reset of 4)" test "$reset" = 4
mp_cleanup

# --- 8. namespace deletion with the proxy running
mp_module_load
MP_PROXY_CC=lia mp_proxy_topology || mp_result $KSFT_FAIL "topology set-up (lia on the proxy)"
prx_ns=$MP_PRX
xfer_pair nsdel -p 80 -s 1000000 -S 12 -T 30 -- -c 10.0.3.2 -p 80 -s 1000000 -S 13 -T 30
cli=$(grep '^sent=' "$MP_TMP/nsdel.cli") srv=$(grep '^sent=' "$MP_TMP/nsdel.srv")
mp_check "a transfer through a proxy running lia" mp_same_stream "$cli" "$srv"
mp_info "lia module references with the proxy listening: $(cat /sys/module/mptcp_proxy/refcnt)"
# The port is still set: only the namespace's exit stops this proxy.
mp_cleanup
start=$(date +%s%N)
mp_module_unload; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
mp_check "after deleting the namespaces the module unloads in ${ms} ms (the proxy's namespace was freed)" \
	test $rc = 0
[ $rc = 0 ] || mp_info "still loaded: refcnt $(cat /sys/module/mptcp_proxy/refcnt)"
mp_kmemleak_check
[ $mp_nfail = 0 ] || ip netns exec "$MP_PRX" cat /proc/net/mptcp_proxy_stat 2>/dev/null | sed 's/^/# /'
mp_exit
