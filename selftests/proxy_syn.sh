#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The proxy's SYN gate: SYNs to the proxy port crafted on a raw socket. A SYN with a
# valid proxy-target option that the policy allows reaches the listener (SYN-ACK);
# every malformed or forbidden form (missing, truncated, wrong length, unknown family or
# version, zero port, duplicated, on an MP_JOIN, a forbidden client, the proxy itself,
# loopback, link-local, multicast, a target or port outside the allowed lists) is
# refused with a reset and counted by reason. Bad sysctl values are refused with EINVAL.
. "$(dirname "$0")/lib.sh"

PORT=1080
MP_SYNRAW=${MP_SYNRAW:-$MP_DIR/synraw}

mp_init
mp_require_root
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
mp_module_load || { mp_result $KSFT_FAIL "insmod"; mp_exit; }

mp_ns_new CLI PRX || { mp_result $KSFT_FAIL "namespaces"; mp_exit; }
mp_link "$CLI" c1 10.0.1.1/24 "$PRX" p1 10.0.1.2/24
ip -n "$CLI" addr add 2001:db8:1::1/64 dev c1 nodad
ip -n "$PRX" addr add 2001:db8:1::2/64 dev p1 nodad

psys() { ip netns exec "$PRX" sysctl -qw "net.mptcp_proxy.$1=$2"; }
stat() { ip netns exec "$PRX" awk -v n="Proxy$1" '$1 == n { print $2 }' /proc/net/mptcp_proxy_stat; }

# Options, hex. opt4 ADDR PORT [VER_FAM] [LEN]: the proxy-target option for IPv4.
hexport() { printf '%04x' "$1"; }
opt4() {
	local a=$1 p=$2 vf=${3:-14} len=${4:-0b} o
	o=$(printf '%02x' ${a//./ })
	echo "fd${len}4d50${vf}$(hexport "$p")$o"
}
opt6() { # opt6 HEX32 PORT
	echo "fd174d5016$(hexport "$2")$1"
}
MPC=1e040181
JOIN=1e0c10010000000100000002
MSS=020405b4

# syn_case DESC EXPECT COUNTER SRC DST OPTIONS: send one SYN, check the answer and
# that COUNTER (or none, "-") moved by exactly one.
syn_case() {
	local desc=$1 want=$2 ctr=$3 src=$4 dst=$5 opts=$6 before after got
	[ "$ctr" = - ] || before=$(stat "$ctr")
	got=$(ip netns exec "$CLI" "$MP_SYNRAW" "$src" "$dst" $PORT $opts)
	if [ "$ctr" != - ]; then
		after=$(stat "$ctr")
		if [ "$got" = "$want" ] && [ "$after" = $((before + 1)) ]; then
			mp_result $KSFT_PASS "$desc: $got, Proxy$ctr +1"
		else
			mp_result $KSFT_FAIL "$desc: got $got (want $want), Proxy$ctr $before -> $after"
		fi
	else
		mp_check "$desc: $got" test "$got" = "$want"
	fi
}

# Bad configuration is refused and changes nothing.
psys port $PORT
psys allowed_clients "10.0.1.0/24 2001:db8:1::/64"
psys allowed_targets "0.0.0.0/0 ::/0"
psys allowed_ports "1-65535"
bad=0
for kv in "port=70000" "port=-1" "port=abc" "allowed_clients=10.0.0.0/33" \
	"allowed_targets=1.2.3.4.5" "allowed_ports=0" "allowed_ports=9-8" \
	"allowed_clients=$(printf '10.0.0.%d ' $(seq 1 40))"; do
	ip netns exec "$PRX" sysctl -qw "net.mptcp_proxy.$kv" 2>/dev/null && { mp_info "accepted: $kv"; bad=1; }
done
mp_check "bad sysctl values refused (EINVAL)" test $bad = 0
mp_check "values unchanged after refused writes" \
	test "$(ip netns exec "$PRX" sysctl -n net.mptcp_proxy.port)" = $PORT -a \
	"$(ip netns exec "$PRX" sysctl -n net.mptcp_proxy.allowed_clients)" = "10.0.1.0/24 2001:db8:1::/64"

# The proxy's own in-kernel MPTCP listener (dual-stack) answers the SYNs that pass.
mp_check "the proxy listens on port $PORT" mp_wait_listen "$PRX" $PORT
C=10.0.1.1 P=10.0.1.2 T=203.0.113.9
syn_case "valid target, MP_CAPABLE" synack SynAccepted $C $P "$MSS$MPC$(opt4 $T 80)"
syn_case "valid target, plain SYN" synack SynAccepted $C $P "$MSS$(opt4 $T 80)"
syn_case "no option" rst RefusedNoTarget $C $P "$MSS"
syn_case "MP_CAPABLE, no option" rst RefusedNoTarget $C $P "$MSS$MPC"
syn_case "truncated option" rst RefusedBadOptionList $C $P "$MSS$(opt4 $T 80 | cut -c1-14)"
syn_case "wrong length (12, IPv4)" rst RefusedBadLength $C $P "$MSS$(opt4 $T 80 14 0c)00"
syn_case "unknown family" rst RefusedBadFamily $C $P "$MSS$(opt4 $T 80 15)"
syn_case "IPv6 family in an IPv4-sized option" rst RefusedBadFamily $C $P "$MSS$(opt4 $T 80 16)"
syn_case "version 2" rst RefusedBadVersion $C $P "$MSS$(opt4 $T 80 24)"
syn_case "zero port" rst RefusedZeroPort $C $P "$MSS$(opt4 $T 0)"
syn_case "duplicated option" rst RefusedDuplicate $C $P "$(opt4 $T 80)01$(opt4 $T 80)"
syn_case "option on an MP_JOIN" rst RefusedTargetOnJoin $C $P "$JOIN$(opt4 $T 80)"
# MPTCP gets the join (here it resets it: the token matches no connection).
syn_case "MP_JOIN without option passes the gate" rst SynJoin $C $P "$MSS$JOIN"
syn_case "target: loopback" rst RefusedTargetSpecial $C $P "$MSS$MPC$(opt4 127.0.0.1 22)"
syn_case "target: the proxy itself" rst RefusedTargetIsProxy $C $P "$MSS$MPC$(opt4 $P 22)"
syn_case "target: link-local" rst RefusedTargetSpecial $C $P "$MSS$MPC$(opt4 169.254.1.1 80)"
syn_case "target: multicast" rst RefusedTargetSpecial $C $P "$MSS$MPC$(opt4 224.0.0.1 80)"
syn_case "target: unspecified" rst RefusedTargetSpecial $C $P "$MSS$MPC$(opt4 0.0.0.0 80)"
# Internal ranges are not opened by a catch-all, in any spelling; named, they are.
syn_case "target: RFC 1918 under a catch-all" rst RefusedTargetInternal $C $P "$MSS$MPC$(opt4 10.9.9.9 80)"
syn_case "target: 100.64/10 under a catch-all" rst RefusedTargetInternal $C $P "$MSS$MPC$(opt4 100.64.0.1 80)"
syn_case "target: 240/4 under a catch-all" rst RefusedTargetInternal $C $P "$MSS$MPC$(opt4 250.1.1.1 80)"
psys allowed_targets "0.0.0.0/0 ::/0 10.9.0.0/16"
syn_case "target: RFC 1918 named in allowed_targets" synack SynAccepted $C $P "$MSS$MPC$(opt4 10.9.9.9 80)"
psys allowed_targets "198.51.100.0/24"
syn_case "target outside allowed_targets" rst RefusedTargetNotAllowed $C $P "$MSS$MPC$(opt4 $T 80)"
psys allowed_targets "0.0.0.0/0 ::/0"
psys allowed_ports "443 8000-8999"
syn_case "port outside allowed_ports" rst RefusedPortNotAllowed $C $P "$MSS$MPC$(opt4 $T 80)"
syn_case "port inside allowed_ports" synack SynAccepted $C $P "$MSS$MPC$(opt4 $T 8080)"
psys allowed_ports "1-65535"
psys allowed_clients "10.9.0.0/16"
syn_case "client not allowed" rst RefusedClient $C $P "$MSS$MPC$(opt4 $T 80)"
psys allowed_clients "10.0.1.0/24 2001:db8:1::/64"

# IPv6: the option needs 24 bytes, so no timestamps (MSS + MP_CAPABLE + 24 = 32 here).
C6=2001:db8:1::1 P6=2001:db8:1::2
T6=20010db8000500000000000000000009 LO6=00000000000000000000000000000001
syn_case "IPv6: valid IPv6 target" synack SynAccepted $C6 $P6 "$MSS$MPC$(opt6 $T6 80)"
syn_case "IPv6: no option" rst RefusedNoTarget $C6 $P6 "$MSS$MPC"
syn_case "IPv6: target ::1" rst RefusedTargetSpecial $C6 $P6 "$MSS$MPC$(opt6 $LO6 80)"
syn_case "IPv6: target in fc00::/7 (cloud metadata) under ::/0" rst RefusedTargetInternal $C6 $P6 "$MSS$MPC$(opt6 fd000ec2000000000000000000000254 80)"
syn_case "IPv6: target 64:ff9b::10.9.9.9 under ::/0" rst RefusedTargetInternal $C6 $P6 "$MSS$MPC$(opt6 0064ff9b00000000000000000a090909 80)"
syn_case "IPv6: target 2002::/16 (6to4) under ::/0" rst RefusedTargetInternal $C6 $P6 "$MSS$MPC$(opt6 20020a09090900000000000000000001 80)"
syn_case "IPv6: target the proxy itself" rst RefusedTargetIsProxy $C6 $P6 "$MSS$MPC$(opt6 20010db8000100000000000000000002 80)"

# With the proxy off, the port is an ordinary port again.
psys port 0
mp_bg "$MP_TMP/srv" ip netns exec "$PRX" "$MP_XFER" -l -6 -m tcp -p $PORT -T 20
mp_wait_listen "$PRX" $PORT
syn_case "proxy off: SYN without option reaches a user-space listener" synack - $C $P "$MSS"

mp_cleanup
mp_check "module unloads" mp_module_unload
mp_exit
