#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The proxy's sysctls under stress and without privilege:
#  1. Writers in parallel (port changes among them, and every list) for a few seconds:
#     afterwards exactly one listener, on the last port written; the other values as
#     last written; then the module unloads (a runtime dropped while running would
#     keep a listener hooked to the module).
#  2. Root without CAP_NET_ADMIN (the administrator of a container is like that)
#     cannot write them (EPERM), can read them; with it, can.
#  3. Bad values are refused (EINVAL) and change nothing; 32 list items are the limit.
. "$(dirname "$0")/lib.sh"

NOCAP=${MP_NOCAP:-$MP_DIR/nocap}
SECS=${SECS:-4}

mp_init
mp_require_root
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
[ -x "$NOCAP" ] || mp_skip_all "$NOCAP not built"
mp_kmemleak_available && mp_kmemleak_clear
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }
mp_ns_new MP_PRX || { mp_result $KSFT_FAIL "namespace"; mp_exit; }
P=/proc/sys/net/mptcp_proxy

# --- 1. parallel writers
writer() {
	local i=0 end=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt $end ]; do
		case $(( (i + $1) % 5 )) in
		0) echo $((2000 + $1 * 10 + i % 3)) > $P/port ;;
		1) echo 0 > $P/port ;;
		2) echo "10.$1.0.0/16 2001:db8:$1::/48" > $P/allowed_clients ;;
		3) echo "$((1 + i % 6))" > $P/connect_syn_retries ;;
		4) echo "$((100 + $1))" > $P/max_conns ;;
		esac 2>/dev/null
		i=$((i + 1))
	done
}
pids=()
for w in 1 2 3 4 5 6; do
	ip netns exec "$MP_PRX" bash -c "P=$P SECS=$SECS; $(declare -f writer); writer $w" &
	pids+=($!)
done
wait "${pids[@]}"
ip netns exec "$MP_PRX" sh -c "echo 3333 > $P/port; echo 77 > $P/max_conns; echo '10.9.0.0/16' > $P/allowed_clients"
listeners=$(ip netns exec "$MP_PRX" ss -HlMn | wc -l)
ports=$(ip netns exec "$MP_PRX" ss -HlMn | awk '{print $4}' | sed 's/.*://' | sort -u | tr '\n' ' ')
mp_check "after $SECS s of 6 parallel writers: one MPTCP listener (found $listeners, ports: $ports)" \
	test "$listeners" = 1 -a "$ports" = "3333 "
mp_check "the values last written are in place" \
	test "$(ip netns exec "$MP_PRX" cat $P/max_conns)" = 77 -a \
	"$(ip netns exec "$MP_PRX" cat $P/allowed_clients)" = 10.9.0.0/16
ip netns exec "$MP_PRX" sh -c "echo 0 > $P/port"
mp_check "no listener once the port is 0 ($(ip netns exec "$MP_PRX" ss -HlMn | wc -l))" \
	test "$(ip netns exec "$MP_PRX" ss -HlMn | wc -l)" = 0

# --- 2. privilege
out=$(ip netns exec "$MP_PRX" "$NOCAP" sh -c "echo 1234 > $P/port" 2>&1); rc=$?
mp_info "without CAP_NET_ADMIN: rc=$rc: $out"
mp_check "root without CAP_NET_ADMIN cannot set the port (EPERM)" \
	eval '[ $rc != 0 ] && echo "$out" | grep -qi "not permitted" && [ "$(ip netns exec "$MP_PRX" cat $P/port)" = 0 ]'
mp_check "... nor a list" \
	eval '! ip netns exec "$MP_PRX" "$NOCAP" sh -c "echo 0.0.0.0/0 > $P/allowed_targets" 2>/dev/null && [ -z "$(ip netns exec "$MP_PRX" cat $P/allowed_targets)" ]'
mp_check "... but can read them" \
	eval '[ "$(ip netns exec "$MP_PRX" "$NOCAP" cat $P/max_conns)" = 77 ]'
mp_check "with CAP_NET_ADMIN, root can" \
	eval 'ip netns exec "$MP_PRX" sh -c "echo 1234 > $P/port && echo 0 > $P/port"'

# --- 3. bad values
bad=0
for kv in "port=65536" "port=-1" "port=0x" "max_conns=0" "max_conns=1048577" \
	"max_conns_per_client=1048577" "connect_syn_retries=7" "idle_timeout=86400" \
	"allowed_targets=10.0.0.0/33" "allowed_ports=0" "client_ct_mark=0x100000000"; do
	k=${kv%%=*} v=${kv#*=}
	before=$(ip netns exec "$MP_PRX" cat $P/$k)
	if ip netns exec "$MP_PRX" sh -c "echo '$v' > $P/$k" 2>/dev/null ||
		[ "$(ip netns exec "$MP_PRX" cat $P/$k)" != "$before" ]; then
		mp_info "accepted or changed: $kv"; bad=$((bad + 1))
	fi
done
mp_check "bad values refused, nothing changed ($bad accepted)" test $bad = 0
# 32 items (short IPv6 addresses: well under the 256-character limit) are the most.
items() { local i; for i in $(seq "$1"); do printf '::%x ' "$i"; done; }
mp_check "32 list items accepted" ip netns exec "$MP_PRX" sh -c "echo '$(items 32)' > $P/allowed_clients"
mp_check "33 list items refused" eval '! ip netns exec "$MP_PRX" sh -c "echo \"$(items 33)\" > $P/allowed_clients" 2>/dev/null'

mp_cleanup
start=$(date +%s%N)
mp_module_unload; rc=$?
mp_check "the module unloads after the writers ($(( ($(date +%s%N) - start) / 1000000 )) ms)" test $rc = 0
mp_kmemleak_check
mp_exit
