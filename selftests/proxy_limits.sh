#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The proxy's connection limits, checked when a connection is accepted and before the
# proxy connects to its target:
#  1. max_conns: with two connections open, a third is reset (ProxyRefusedTooMany) and
#     the server never sees it.
#  2. max_conns_per_client: with one connection of a client open, its second is reset
#     (ProxyRefusedClientTooMany), while another client address still gets through.
. "$(dirname "$0")/lib.sh"

mp_init
mp_require_root
mp_require_mptcp
mp_require_cmd nft
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_kmemleak_available && mp_kmemleak_clear
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }
mp_proxy_topology || { mp_result $KSFT_FAIL "topology set-up"; mp_exit; }
psys() { ip netns exec "$MP_PRX" sysctl -qw "net.mptcp_proxy.$1=$2"; }
stat() { mp_proxy_stat "$MP_PRX" "$1"; }
# Connections the server has (established, to port 80), and the SYNs it has seen.
server_conns() { ip netns exec "$MP_SRV" ss -Htn state established '( sport = :80 )' | wc -l; }
ip netns exec "$MP_SRV" nft -f - <<EOF2
table inet syncount {
	chain in {
		type filter hook input priority 0;
		tcp dport 80 tcp flags & (syn | ack) == syn counter
	}
}
EOF2
server_syns() {
	ip netns exec "$MP_SRV" nft list table inet syncount |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# A server that takes many connections; clients that hold theirs open for HOLD seconds.
HOLD=60
mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -n 10 -T 300
mp_wait_listen "$MP_SRV" 80
holders=()
hold() { # NAME [BIND_ADDR]: a client holding its connection open
	ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 ${2:+-b $2} -t $HOLD -T $((HOLD + 30)) \
		> "$MP_TMP/$1" 2>&1 &
	holders+=($!)
}
# try NAME [BIND_ADDR]: a short connection; prints what it got.
try() {
	ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 ${2:+-b $2} -s 1000 -T 10 > "$MP_TMP/$1" 2>&1
	grep -q '^sent=1000 ' "$MP_TMP/$1" && echo through || echo refused
}

# --- 1. max_conns
psys max_conns 2
psys max_conns_per_client 0
hold a; hold b
# Both open at the server (a debug kernel takes its time).
for _ in $(seq 30); do [ "$(server_conns)" = 2 ] && break; sleep 0.5; done
before=$(stat RefusedTooMany) syns=$(server_syns)
third=$(try c)
mp_info "third connection: $third ($(head -1 "$MP_TMP/c"))"
mp_check "max_conns=2: a third connection is reset (ProxyRefusedTooMany +$(( $(stat RefusedTooMany) - before )))" \
	test "$third" = refused -a "$(stat RefusedTooMany)" = $((before + 1))
mp_check "... and the server never saw it (SYNs at the server: $syns before, $(server_syns) after)" \
	test -n "$syns" -a "$(server_syns)" = "$syns"
kill "${holders[@]}" 2>/dev/null; wait "${holders[@]}" 2>/dev/null; holders=()
sleep 1

# --- 2. max_conns_per_client
psys max_conns 100
psys max_conns_per_client 1
hold d
for _ in $(seq 30); do [ "$(server_conns)" = 1 ] && break; sleep 0.5; done
before=$(stat RefusedClientTooMany)
second=$(try e)
other=$(try f 10.0.2.1)
mp_info "same client: $second; other client address: $other"
mp_check "max_conns_per_client=1: the client's second connection is reset (ProxyRefusedClientTooMany +$(( $(stat RefusedClientTooMany) - before )))" \
	test "$second" = refused -a "$(stat RefusedClientTooMany)" = $((before + 1))
mp_check "another client address still gets through" test "$other" = through
kill "${holders[@]}" 2>/dev/null; wait "${holders[@]}" 2>/dev/null

[ $mp_nfail = 0 ] || ip netns exec "$MP_PRX" cat /proc/net/mptcp_proxy_stat 2>/dev/null | sed 's/^/# /'
mp_cleanup
mp_check "module unloads" mp_module_unload
mp_kmemleak_check
mp_exit
