#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# No byte lost to a reset: what one side sent before it reset its connection reaches the
# other side through the proxy, and only then is the reset passed on, as on a direct
# connection. Each case runs routed (the proxy's namespace as a plain router: the
# reference) and through the proxy, with 2 MiB where the size matters:
#  1. response then reset: the server sends, waits until all is acknowledged, resets;
#     the client reads every byte, then ECONNRESET.
#  2. request then reset: the client (MPTCP) sends, waits until all is acknowledged,
#     resets (an MPTCP fastclose); the server reads every byte, then ECONNRESET.
#  3. reset mid-stream: the client uploads without end while the server sends 1 MiB and
#     resets; the client reads that 1 MiB, then ECONNRESET.
#  4. reset after half-close: the client sends a request and shuts its side, the server
#     reads it, sends the response and resets; the request arrives whole, the response
#     too, then ECONNRESET.
# The reset is not preceded by a FIN that the peer did not send: nftables counts the FIN
# segments arriving at each end (an end that sees the stream's end first and the reset
# only later would take a truncated stream for a whole one). Each proxied case ends as a
# reset in the proxy's counters, with its connection gone.
. "$(dirname "$0")/lib.sh"

SIZE=$((2 * 1024 * 1024))
RSTPEER=${MP_RSTPEER:-$MP_DIR/rstpeer}
ROUTED_PORT=81	# not sent to the proxy (see below)
PROXY_PORT=80

mp_init
mp_require_root
mp_require_mptcp
mp_require_cmd nft
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
[ -x "$RSTPEER" ] || mp_skip_all "$RSTPEER not built"
mp_kmemleak_available && mp_kmemleak_clear
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }
mp_proxy_topology || { mp_result $KSFT_FAIL "topology set-up"; mp_exit; }
# The routed reference: the proxy's namespace forwards, and the client's rule leaves
# one port alone.
ip netns exec "$MP_PRX" sysctl -qw net.ipv4.ip_forward=1
ip -n "$MP_SRV" route add default via 10.0.3.1 2>/dev/null
ip netns exec "$MP_CLI" nft insert rule inet mptcp_proxy out tcp dport $ROUTED_PORT accept
# FIN segments arriving at the client (from the server's ports, as NAT shows them) and
# at the server.
# fin_counter NS sport|dport: count the FINs arriving in NS from or to the two ports.
fin_counter() {
	ip netns exec "$1" nft -f - <<EOF2
table inet fins {
	chain in {
		type filter hook input priority 0;
		tcp $2 { $PROXY_PORT, $ROUTED_PORT } tcp flags & fin == fin counter
	}
}
EOF2
}
fin_counter "$MP_CLI" sport
fin_counter "$MP_SRV" dport
# fins NS: the FINs counted in NS ("" if the counter cannot be read).
fins() { ip netns exec "$1" nft list table inet fins | awk '{ for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'; }
[ -n "$(fins "$MP_CLI")" ] && [ -n "$(fins "$MP_SRV")" ] ||
	{ mp_result $KSFT_FAIL "FIN counters (nftables)"; mp_exit; }
# fins_case CLIENT_WANT SERVER_WANT: the FINs that arrived since the last call.
fin_cli=0 fin_srv=0
fins_case() {
	local c s
	c=$(fins "$MP_CLI") s=$(fins "$MP_SRV")
	[ -n "$c" ] && [ -n "$s" ] || return 1
	got_cli=$((c - fin_cli)) got_srv=$((s - fin_srv))
	fin_cli=$c fin_srv=$s
	mp_info "FINs arrived: at the client $got_cli, at the server $got_srv"
	[ "$got_cli" = "$1" ] && case $2 in
		+) [ "$got_srv" -ge 1 ] ;; # a FIN may be retransmitted
		*) [ "$got_srv" = "$2" ] ;;
	esac
}
mp_result $KSFT_PASS "topology: client, proxy (also a router for port $ROUTED_PORT), legacy server"

# rst_case NAME PORT SERVER_ARGS -- CLIENT_ARGS: runs both ends, their summary lines in
# $MP_TMP/NAME.srv and NAME.cli.
rst_case() {
	local name=$1 port=$2; shift 2
	local sargs=() cargs=()
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift; cargs=("$@")
	mp_bg "$MP_TMP/$name.srv" ip netns exec "$MP_SRV" "$RSTPEER" -l -p "$port" -T 60 "${sargs[@]}"
	local srv=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" "$port"
	ip netns exec "$MP_CLI" "$RSTPEER" -c 10.0.3.2 -p "$port" -m mptcp -T 60 "${cargs[@]}" \
		> "$MP_TMP/$name.cli" 2>&1
	wait "$srv"
}

# whole LINE_FROM LINE_TO: every byte the sender sent arrived, in order, and the
# receiver saw a reset after it.
whole() {
	[ "$(mp_field "$1" sent)" = "$(mp_field "$2" recv)" ] &&
		[ "$(mp_field "$1" sent_sum)" = "$(mp_field "$2" recv_sum)" ] &&
		[ "$(mp_field "$2" end)" = reset ]
}

for via in routed proxy; do
	port=$PROXY_PORT
	[ $via = routed ] && port=$ROUTED_PORT
	resets=$(mp_proxy_stat "$MP_PRX" ConnReset)

	rst_case resp.$via $port -s $SIZE -R -S 2 -- -S 1
	cli=$(cat "$MP_TMP/resp.$via.cli") srv=$(cat "$MP_TMP/resp.$via.srv")
	mp_info "server: $srv"; mp_info "client: $cli"
	mp_check "$via: response then reset: client read all $SIZE bytes, then a reset" \
		whole "$srv" "$cli"
	mp_check "$via: response then reset: the server's own send finished ($(mp_field "$srv" sent) bytes)" \
		test "$(mp_field "$srv" sent)" = $SIZE
	mp_check "$via: response then reset: no FIN reached either end" fins_case 0 0

	rst_case req.$via $port -S 2 -- -s $SIZE -R -S 1
	cli=$(cat "$MP_TMP/req.$via.cli") srv=$(cat "$MP_TMP/req.$via.srv")
	mp_info "server: $srv"; mp_info "client: $cli"
	mp_check "$via: request then reset: server read all $SIZE bytes, then a reset" \
		whole "$cli" "$srv"
	mp_check "$via: request then reset: the client's own send finished" \
		test "$(mp_field "$cli" sent)" = $SIZE
	mp_check "$via: request then reset: no FIN reached either end" fins_case 0 0

	rst_case mid.$via $port -s $((SIZE / 2)) -R -S 2 -- -s $((64 * SIZE)) -S 1
	cli=$(cat "$MP_TMP/mid.$via.cli") srv=$(cat "$MP_TMP/mid.$via.srv")
	mp_info "server: $srv"; mp_info "client: $cli"
	mp_check "$via: reset mid-stream: client read all $((SIZE / 2)) bytes, then a reset" \
		whole "$srv" "$cli"
	mp_check "$via: reset mid-stream: the client's upload was cut short" \
		test "$(mp_field "$cli" sent)" -lt $((64 * SIZE))
	mp_check "$via: reset mid-stream: no FIN reached either end" fins_case 0 0

	rst_case half.$via $port -E -s $SIZE -R -S 2 -- -s 65536 -H -S 1
	cli=$(cat "$MP_TMP/half.$via.cli") srv=$(cat "$MP_TMP/half.$via.srv")
	mp_info "server: $srv"; mp_info "client: $cli"
	mp_check "$via: reset after half-close: the request arrived whole" \
		eval '[ "$(mp_field "$cli" sent)" = 65536 ] && [ "$(mp_field "$cli" sent_sum)" = "$(mp_field "$srv" recv_sum)" ] && [ "$(mp_field "$srv" end)" = eof ]'
	mp_check "$via: reset after half-close: client read all $SIZE bytes, then a reset" \
		whole "$srv" "$cli"
	mp_check "$via: reset after half-close: the client's FIN reached the server, none the client" \
		fins_case 0 +

	if [ $via = proxy ]; then
		n=$(( $(mp_proxy_stat "$MP_PRX" ConnReset) - resets ))
		mp_check "proxy: the four connections ended as resets ($n)" test "$n" = 4
		sleep 0.5
		mp_check "proxy: no connection left ($(mp_proxy_stat "$MP_PRX" ConnActive) active)" \
			test "$(mp_proxy_stat "$MP_PRX" ConnActive)" = 0
	fi
done

[ $mp_nfail = 0 ] || ip netns exec "$MP_PRX" cat /proc/net/mptcp_proxy_stat 2>/dev/null | sed 's/^/# /'
mp_cleanup
mp_module_unload
mp_kmemleak_check
mp_exit
