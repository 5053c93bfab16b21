#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Selecting lia and its lifetime: it is listed while the module is loaded; the kernel's
# tcp_allowed_congestion_control rule decides whether a child namespace may make it its
# default; TCP_CONGESTION on an MPTCP socket puts every subflow on it; rmmod is refused
# while a socket uses it and works after; subflows added and removed repeatedly during a
# transfer leave the transfer intact, no coupling state behind and nothing for kmemleak.
. "$(dirname "$0")/lib.sh"

# The transfer's length: long enough for the set-up checks and five endpoint flaps with
# their joins (the debug pass gives 40: a join there takes seconds).
SECS=${LIA_SELECT_SECS:-15}

mp_init
mp_require_root
mp_require_mptcp
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_unload
avail=/proc/sys/net/ipv4/tcp_available_congestion_control
allowed=/proc/sys/net/ipv4/tcp_allowed_congestion_control
mp_kmemleak_available && mp_kmemleak_clear

insmod "$MP_MODULE"
mp_check "lia listed in tcp_available_congestion_control after insmod" grep -qw lia $avail

mp_testbed_two_paths 20 5 20 5 || { mp_result $KSFT_FAIL "testbed set-up"; mp_exit; }

# Kernel rule: a child namespace may only pick an algorithm the admin allowed.
old_allowed=$(cat $allowed)
echo "$old_allowed" | grep -qw lia && sysctl -qw net.ipv4.tcp_allowed_congestion_control="$(echo "$old_allowed" | sed 's/\blia\b//')"
mp_check "child namespace: default lia refused while not allowed" \
	eval '! ip netns exec "$MP_CLI" sysctl -qw net.ipv4.tcp_congestion_control=lia 2>/dev/null'
sysctl -qw net.ipv4.tcp_allowed_congestion_control="$old_allowed lia"
mp_check "child namespace: default lia accepted once allowed" \
	ip netns exec "$MP_CLI" sysctl -qw net.ipv4.tcp_congestion_control=lia
ip netns exec "$MP_CLI" sysctl -qw net.ipv4.tcp_congestion_control=cubic

# TCP_CONGESTION=lia on an MPTCP socket; the path manager adds and removes the second
# subflow's endpoint every 0.5 s during the transfer. The server's namespace runs lia by
# default, so that both namespaces have a coupling of their own.
ip netns exec "$MP_SRV" sysctl -qw net.ipv4.tcp_congestion_control=lia
mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -t $SECS -S 2 -T $((SECS * 3 + 20))
srv=$MP_LAST_PID
mp_wait_listen "$MP_SRV" 5201
ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C lia -t $SECS -S 1 -T $((SECS * 3 + 20)) > "$MP_TMP/cli" &
cli=$!
# The second subflow joins after the first handshake: wait for it (a debug kernel in an
# emulated guest takes seconds), up to 15 s.
for _ in $(seq 30); do
	sleep 0.5
	ss_out=$(ip netns exec "$MP_CLI" ss -tin state established)
	nsub=$(echo "$ss_out" | grep -c ' lia ')
	[ "$nsub" -ge 2 ] && break
done
mp_info "subflows on lia: $nsub; /proc/net/lia: $(ip netns exec "$MP_CLI" cat /proc/net/lia | tail -n +2 | tr -s ' ')"
mp_check "TCP_CONGESTION=lia on an MPTCP socket: both subflows on lia ($nsub)" test "$nsub" -ge 2
# The token names the connection (MP_JOIN): only the namespace's administrator sees it.
admin_tok=$(ip netns exec "$MP_CLI" awk 'NR == 2 { print $1 }' /proc/net/lia)
other_tok=$(ip netns exec "$MP_CLI" "$MP_DIR/nocap" awk 'NR == 2 { print $1 }' /proc/net/lia)
mp_check "/proc/net/lia: token $admin_tok for CAP_NET_ADMIN, '$other_tok' for others" \
	eval '[[ "$admin_tok" =~ ^[0-9a-f]{8}$ ]] && [ "$other_tok" = -------- ]'
# Each namespace lists its own connections only: one coupling on each side, with the
# side's own token (each end derives its token from its own key).
cli_rows=$(ip netns exec "$MP_CLI" awk 'NR > 1 { print $1 }' /proc/net/lia)
srv_rows=$(ip netns exec "$MP_SRV" awk 'NR > 1 { print $1 }' /proc/net/lia)
mp_check "/proc/net/lia per namespace: client [$(echo $cli_rows)], server [$(echo $srv_rows)]" \
	eval '[ "$(echo "$cli_rows" | wc -w)" = 1 ] && [ "$(echo "$srv_rows" | wc -w)" = 1 ] && [ "$cli_rows" != "$srv_rows" ]'
rmmod mptcp_proxy 2>/dev/null
mp_check "rmmod refused while sockets use lia" grep -q '^mptcp_proxy ' /proc/modules

# Remove and re-add the endpoint up to 5 times while the transfer runs (fewer if a slow
# guest makes the transfer end first).
# Each re-addition must bring a new join (waited for, up to 10 s: a debug kernel in an
# emulated guest takes seconds).
flaps=0 rejoined=0
while [ $flaps -lt 5 ] && kill -0 $cli 2>/dev/null; do
	ip -n "$MP_CLI" mptcp endpoint del id 1 2>/dev/null
	sleep 0.5
	before=$(mp_counter "$MP_SRV" MPTcpExtMPJoinAckRx)
	ip -n "$MP_CLI" mptcp endpoint add 10.0.2.1 id 1 dev c2 subflow 2>/dev/null
	flaps=$((flaps + 1))
	for _ in $(seq 20); do
		[ "$(mp_counter "$MP_SRV" MPTcpExtMPJoinAckRx)" -gt "$before" ] && { rejoined=$((rejoined + 1)); break; }
		kill -0 $cli 2>/dev/null || break
		sleep 0.5
	done
done
wait $cli; cli_rc=$?
wait $srv; srv_rc=$?
c=$(grep '^sent=' "$MP_TMP/cli") s=$(grep '^sent=' "$MP_TMP/srv")
mp_info "client: $c"
mp_info "server: $s"
ok=0
[ $cli_rc = 0 ] && [ $srv_rc = 0 ] &&
	[ "$(mp_field "$c" sent_sum)" = "$(mp_field "$s" recv_sum)" ] &&
	[ "$(mp_field "$s" sent_sum)" = "$(mp_field "$c" recv_sum)" ] &&
	[ "$(mp_field "$c" sent)" = "$(mp_field "$s" recv)" ] && ok=1
mp_check "transfer intact across $flaps subflow removals and additions" test $ok = 1
joins=$(mp_counter "$MP_SRV" MPTcpExtMPJoinAckRx)
# The first join at start, then one per re-added endpoint while the transfer ran (a
# re-addition the transfer outlived by less than a join's time may find it closed).
mp_check "subflows really rejoined ($rejoined of $flaps re-additions joined, $joins joins)" \
	eval '[ $flaps -ge 2 ] && [ $rejoined -ge $((flaps - 1)) ] && [ $joins -ge $((rejoined + 1)) ]'

# Plain TCP on lia runs as Reno and is counted as such.
mp_bg "$MP_TMP/srv2" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 5202 -T 30
mp_wait_listen "$MP_SRV" 5202
ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -m tcp -p 5202 -C lia -s 1000000 -T 30 > /dev/null
wait $MP_LAST_PID
plain=$(mp_lia_stat "$MP_CLI" LiaPlainTcp)
mp_check "plain TCP socket on lia counted as LiaPlainTcp ($plain)" test "$plain" -ge 1

created=$(mp_lia_stat "$MP_CLI" LiaConnCreated) freed=$(mp_lia_stat "$MP_CLI" LiaConnFreed)
coupled=$(mp_lia_stat "$MP_CLI" LiaSubflowCoupled)
mp_info "lia_stat: $(ip netns exec "$MP_CLI" cat /proc/net/lia_stat | tr -s ' ' | tr '\n' ' ')"
mp_check "every coupling state freed (created $created, freed $freed, subflows coupled $coupled)" \
	test "$created" -ge 1 -a "$created" = "$freed" -a "$coupled" -ge "$joins"
mp_check "no coupling left in /proc/net/lia" test "$(ip netns exec "$MP_CLI" cat /proc/net/lia | wc -l)" = 1

# olia, the module's second algorithm, on the same framework: selected per socket, all
# subflows on it, listed as an olia coupling, the transfer intact, its state freed. The
# transfer takes SECS / 2 (the debug kernel's join takes seconds, as above).
mp_check "olia listed in tcp_available_congestion_control" grep -qw olia $avail
oinit=$(mp_lia_stat "$MP_CLI" OliaSubflowInit) ocreated=$(mp_lia_stat "$MP_CLI" LiaConnCreated)
mp_bg "$MP_TMP/srv3" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5203 -t $((SECS / 2)) -S 4 -T $((SECS * 2 + 60))
mp_wait_listen "$MP_SRV" 5203
ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5203 -C olia -t $((SECS / 2)) -S 3 -T $((SECS * 2 + 60)) > "$MP_TMP/cli3" &
cli=$!
# Polled for as long as the transfer runs: on the debug kernel the join can take more
# than the 15 s that 30 polls once allowed (a make check missed it so).
for _ in $(seq 120); do
	kill -0 $cli 2>/dev/null || break
	sleep 0.5
	nsub=$(ip netns exec "$MP_CLI" ss -tin state established | grep -c ' olia ')
	row=$(ip netns exec "$MP_CLI" awk '$NF == "olia" { print $2, $3 }' /proc/net/lia)
	[ "$nsub" -ge 2 ] && [ "$row" = "2 2" ] && break
done
mp_check "TCP_CONGESTION=olia: both subflows on olia ($nsub), one olia coupling of 2 taking part ($row)" \
	test "$nsub" -ge 2 -a "$row" = "2 2"
wait $cli; cli_rc=$?
wait "$MP_LAST_PID"; srv_rc=$?
c=$(grep '^sent=' "$MP_TMP/cli3") s=$(grep '^sent=' "$MP_TMP/srv3")
mp_check "olia transfer intact both ways" eval '[ $cli_rc = 0 ] && [ $srv_rc = 0 ] &&
	[ "$(mp_field "$c" sent_sum)" = "$(mp_field "$s" recv_sum)" ] &&
	[ "$(mp_field "$s" sent_sum)" = "$(mp_field "$c" recv_sum)" ] && [ "$(mp_field "$c" recv)" -gt 0 ]'
oinit=$(( $(mp_lia_stat "$MP_CLI" OliaSubflowInit) - oinit ))
ocreated=$(( $(mp_lia_stat "$MP_CLI" LiaConnCreated) - ocreated ))
mp_check "olia counted: OliaSubflowInit +$oinit, a coupling created (+$ocreated) and freed" \
	eval '[ $oinit -ge 2 ] && [ $ocreated = 1 ] && [ "$(mp_lia_stat "$MP_CLI" LiaConnCreated)" = "$(mp_lia_stat "$MP_CLI" LiaConnFreed)" ]'

mp_cleanup
sysctl -qw net.ipv4.tcp_allowed_congestion_control="$old_allowed"
mp_check "rmmod works once no socket uses lia" mp_module_unload
mp_check "lia and olia gone from tcp_available_congestion_control" eval '! grep -qwE "lia|olia" $avail'
mp_kmemleak_check
mp_exit
