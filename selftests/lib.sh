#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the mptcp_proxy selftests, in the style of net/mptcp/mptcp_lib.sh.
# Everything is prefixed mp_. Tests source this file, call mp_init, print KTAP lines
# through mp_result and end with mp_exit.

readonly KSFT_PASS=0
readonly KSFT_FAIL=1
readonly KSFT_SKIP=4
# MP_STRICT=1 turns skips into failures (CI wants every test to really run).
: "${MP_STRICT:=0}"

MP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MP_MODULE=${MP_MODULE:-/lib/modules/mptcp_proxy.ko}
MP_XFER=${MP_XFER:-$MP_DIR/xfer}
MP_NS=()
MP_PIDS=()
mp_n=0 mp_npass=0 mp_nfail=0 mp_nskip=0

mp_init() {
	MP_TMP=$(mktemp -d)
	trap 'mp_cleanup; rm -rf "$MP_TMP"' EXIT
	echo "TAP version 13"
}

mp_cleanup() {
	local ns pid
	for pid in "${MP_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for ns in "${MP_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	MP_NS=() MP_PIDS=()
}

# mp_result STATUS DESCRIPTION: print one KTAP result line.
mp_result() {
	local st=$1; shift
	mp_n=$((mp_n + 1))
	case $st in
	"$KSFT_PASS") mp_npass=$((mp_npass + 1)); echo "ok $mp_n - $*" ;;
	"$KSFT_SKIP")
		if [ "$MP_STRICT" = 1 ]; then
			mp_nfail=$((mp_nfail + 1)); echo "not ok $mp_n - $* # SKIP (strict: counted as failure)"
		else
			mp_nskip=$((mp_nskip + 1)); echo "ok $mp_n - $* # SKIP"
		fi ;;
	*) mp_nfail=$((mp_nfail + 1)); echo "not ok $mp_n - $*" ;;
	esac
}

# mp_check DESCRIPTION COMMAND...: run a check, print its result.
mp_check() {
	local desc=$1; shift
	if "$@"; then mp_result $KSFT_PASS "$desc"; else mp_result $KSFT_FAIL "$desc"; fi
}

mp_exit() {
	echo "1..$mp_n"
	echo "# Totals: pass:$mp_npass fail:$mp_nfail xfail:0 xpass:0 skip:$mp_nskip error:0"
	if [ $mp_nfail -gt 0 ]; then exit $KSFT_FAIL; fi
	if [ $mp_npass -eq 0 ] && [ $mp_nskip -gt 0 ]; then exit $KSFT_SKIP; fi
	exit $KSFT_PASS
}

mp_info() { echo "# $*"; }

mp_skip_all() {
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

# mp_require_root / mp_require_cmd: skip the whole test when the feature is missing.
mp_require_root() { [ "$(id -u)" = 0 ] || mp_skip_all "needs root"; }
mp_require_cmd() {
	local c
	for c; do command -v "$c" >/dev/null || mp_skip_all "needs $c"; done
}
mp_require_mptcp() {
	[ -f /proc/sys/net/mptcp/enabled ] || mp_skip_all "kernel without CONFIG_MPTCP"
}

# mp_ns_new VAR...: create network namespaces with random suffixes, lo up, MPTCP on.
mp_ns_new() {
	local var ns
	for var; do
		ns="$var-$(mktemp -u XXXXXX)"
		ip netns add "$ns" || return 1
		MP_NS+=("$ns")
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1
		printf -v "$var" '%s' "$ns"
	done
}

# mp_link NS1 DEV1 ADDR1/PFX NS2 DEV2 ADDR2/PFX: a veth pair between two namespaces.
mp_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" || return 1
	ip -n "$1" addr add "$3" dev "$2" && ip -n "$4" addr add "$6" dev "$5" || return 1
	ip -n "$1" link set "$2" up && ip -n "$4" link set "$5" up
}

# mp_shape NS DEV RATE_MBIT DELAY_MS [LIMIT_PKTS]: egress rate and one-way delay (netem).
# Without LIMIT the queue holds about one bandwidth-delay product (at least 20 packets).
mp_shape() {
	local ns=$1 dev=$2 rate=$3 delay=$4 limit=${5:-}
	if [ -z "$limit" ]; then
		# BDP in 1500-byte packets for the round trip (2 x delay).
		limit=$(( rate * 1000000 / 8 * delay * 2 / 1000 / 1500 ))
		[ "$limit" -ge 20 ] || limit=20
	fi
	tc -n "$ns" qdisc replace dev "$dev" root netem rate "${rate}mbit" \
		delay "${delay}ms" limit "$limit"
}

# mp_counter NS NAME: the value of one nstat counter (MIB name) in a namespace.
mp_counter() {
	ip netns exec "$1" nstat -asz "$2" 2>/dev/null | awk -v n="$2" '$1 == n { print $2; f=1 } END { if (!f) print 0 }'
}

# mp_dev_bytes NS DEV tx|rx: bytes counted on an interface.
mp_dev_bytes() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3_bytes"
}

# mp_sample NS FILE...: one line "TIME VALUE...", read at one instant by one process in
# NS: the time in seconds since boot (/proc/uptime: 10 ms resolution, the same clock in
# every namespace) and the first word of each FILE, e.g. an interface counter. A rate is
# the difference of two samples' values over the difference of their times: a sampler
# on a busy guest is late, and nothing assumes a sample came when it was due.
mp_sample() {
	local ns=$1; shift
	ip netns exec "$ns" awk 'FNR == 1 { line = line (NR > 1 ? " " : "") $1 } END { print line }' \
		/proc/uptime "$@"
}

# mp_rate BEFORE AFTER N: bit/s of the Nth value (1: the first after the time) between
# two lines of mp_sample.
mp_rate() {
	awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%d\n", (y[1] > x[1]) ? (y[n + 1] - x[n + 1]) * 8 / (y[1] - x[1]) : 0 }'
}

# mp_next_second START LAST: sleep until the first whole second since START that is at
# least half a second after LAST (both /proc/uptime readings, as mp_sample prints them)
# and set MP_SECOND to it. A sampling loop calls it between samples: no drift, and a
# round that overran (a slow host) is followed by a sample at once rather than by a
# burst of short intervals. Starts no process but sleep.
mp_next_second() {
	local start=$((10#${1/./})) last=$((10#${2/./})) now d
	MP_SECOND=$(( (last - start + 149) / 100 ))
	read -r now _ < /proc/uptime
	d=$(( start + MP_SECOND * 100 - 10#${now/./} ))
	[ $d -gt 0 ] || return 0
	printf -v d '%d.%02d' $((d / 100)) $((d % 100))
	sleep "$d"
}

# mp_wait_listen NS PORT: wait (up to 5 s) until something listens on PORT.
mp_wait_listen() {
	local i
	for i in $(seq 50); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		ip netns exec "$1" ss -HlMn "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# mp_bg OUTFILE CMD...: run a command in the background with its output in OUTFILE;
# its pid is in MP_LAST_PID and it is killed at cleanup if still running.
mp_bg() {
	local out=$1; shift
	"$@" > "$out" 2>&1 &
	MP_LAST_PID=$!
	MP_PIDS+=("$MP_LAST_PID")
}

# mp_field LINE KEY: the value of KEY=value in an xfer summary line.
mp_field() {
	local kv
	for kv in $1; do
		[ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return 0; }
	done
	return 1
}

# mp_kmemleak_* : the kernel's leak detector, read by tests.
mp_kmemleak_available() { [ -w /sys/kernel/debug/kmemleak ]; }
mp_kmemleak_clear() {
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
}
# Prints the number of unreferenced objects found since the last clear. kmemleak only
# reports objects older than 5 s, so wait first; two scans avoid transient pointers.
# mp_kmemleak_check: one result: no leak reported since mp_kmemleak_clear (the report
# printed if there is one), or a SKIP where the kernel has no kmemleak.
mp_kmemleak_check() {
	local leaks
	if ! mp_kmemleak_available; then
		mp_result $KSFT_SKIP "kmemleak (not available in this kernel)"
		return
	fi
	leaks=$(mp_kmemleak_count)
	[ "$leaks" = 0 ] || sed 's/^/# /' /sys/kernel/debug/kmemleak | head -60
	mp_check "kmemleak finds no leak ($leaks objects)" test "$leaks" = 0
}

mp_kmemleak_count() {
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	grep -c '^unreferenced object' /sys/kernel/debug/kmemleak
}

# mp_debug NS...: what a failure needs to be understood.
mp_debug() {
	local ns
	for ns; do
		echo "# --- $ns ---"
		ip netns exec "$ns" ss -Menita 2>&1 | sed 's/^/# /'
		ip netns exec "$ns" nstat -as 2>&1 | grep -iE 'mptcp|tcp(ext)?(retrans|loss)' | sed 's/^/# /'
	done
}

# mp_testbed_two_paths RATE1 DELAY1 RATE2 DELAY2: the two-path testbed.
#
#   MP_CLI  c1 10.0.1.1/24 ---- path 1 ---- s1 10.0.1.2/24  MP_SRV
#           c2 10.0.2.1/24 ---- path 2 ---- s2 10.0.2.2/24  (10.0.0.1/32 on lo)
#
# The server's service address MP_SRV_ADDR (10.0.0.1) is reachable over both paths: the
# client's main table routes it over path 1, and a source rule sends traffic from
# 10.0.2.1 over path 2, the usual set-up of a multihomed host. The client's second
# address is an in-kernel path manager "subflow" endpoint, so every MPTCP connection to
# the server gets a second subflow over path 2. Each path is shaped in both directions
# (rate in Mbit/s, one-way delay in ms, queue of about one BDP).
mp_testbed_two_paths() {
	local r1=$1 d1=$2 r2=$3 d2=$4
	mp_ns_new MP_CLI MP_SRV || return 1
	MP_SRV_ADDR=10.0.0.1
	mp_link "$MP_CLI" c1 10.0.1.1/24 "$MP_SRV" s1 10.0.1.2/24 || return 1
	mp_link "$MP_CLI" c2 10.0.2.1/24 "$MP_SRV" s2 10.0.2.2/24 || return 1
	ip -n "$MP_SRV" addr add $MP_SRV_ADDR/32 dev lo
	ip -n "$MP_CLI" route add default via 10.0.1.2 dev c1
	ip -n "$MP_CLI" route add default via 10.0.2.2 dev c2 table 2
	ip -n "$MP_CLI" rule add from 10.0.2.1 table 2
	ip -n "$MP_CLI" mptcp limits set subflow 2 add_addr_accepted 0
	ip -n "$MP_SRV" mptcp limits set subflow 2 add_addr_accepted 0
	ip -n "$MP_CLI" mptcp endpoint add 10.0.2.1 dev c2 subflow || return 1
	mp_shape "$MP_CLI" c1 "$r1" "$d1" && mp_shape "$MP_SRV" s1 "$r1" "$d1" &&
	mp_shape "$MP_CLI" c2 "$r2" "$d2" && mp_shape "$MP_SRV" s2 "$r2" "$d2"
}

# mp_module_load / mp_module_unload: insmod mptcp_proxy.ko if not loaded / rmmod it.
mp_module_load() {
	grep -q '^mptcp_proxy ' /proc/modules || insmod "$MP_MODULE"
}
mp_module_unload() {
	local i
	# Sockets that used lia may take a moment to be released after close.
	for i in $(seq 50); do
		grep -q '^mptcp_proxy ' /proc/modules || return 0
		rmmod mptcp_proxy 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# mp_lia_stat NS NAME: a counter of /proc/net/lia_stat in a namespace.
mp_lia_stat() {
	ip netns exec "$1" awk -v n="$2" '$1 == n { print $2; f=1 } END { if (!f) print 0 }' /proc/net/lia_stat
}

# mp_div A B [DIGITS]: A / B as a decimal string (awk), for ratios in messages.
mp_div() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0) print "inf"; else printf("%." d "f\n", a / b) }'
}

# mp_median NUMBER...: the median of numbers (the lower middle one of an even count).
mp_median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# mp_le A B: true if the decimal A <= B; false (status 2) if either is not a decimal
# number (awk would compare "inf", "nan" or an empty string as text).
mp_le() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		num = "^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$"
		if (a !~ num || b !~ num) exit 2
		exit !(a + 0 <= b + 0)
	}'
}

# mp_router_topology BOTTLENECK_MBIT DELAY_MS SHARED: the router testbed of the lia tests.
#
#   MP_CLI c1 10.0.1.1 --- r1 10.0.1.2 \                       / (10.0.0.1 on lo)
#          c2 10.0.2.1 --- r2 10.0.2.2 - MP_RTR r3 10.0.3.1 === s3 10.0.3.2  MP_SRV
#   MP_TCP t1 10.0.4.1 --- r4 10.0.4.2 /        (bottleneck)
#
# With SHARED=1 both client paths enter the router and cross the one bottleneck r3->s3.
# With SHARED=0 path 2 goes straight to the server instead (c2 10.0.2.1 --- s2
# 10.0.2.2), shaped like the bottleneck, so the paths are disjoint: path 1 is shared with
# the competing TCP flow from MP_TCP, path 2 is the client's alone.
# Every access link is unshaped; the bottleneck(s) have RATE, one-way DELAY and a queue
# of one bandwidth-delay product; the reverse direction has the same delay, no rate limit.
mp_router_topology() {
	local rate=$1 delay=$2 shared=$3
	mp_ns_new MP_CLI MP_RTR MP_SRV MP_TCP || return 1
	MP_SRV_ADDR=10.0.0.1
	mp_link "$MP_CLI" c1 10.0.1.1/24 "$MP_RTR" r1 10.0.1.2/24 || return 1
	mp_link "$MP_TCP" t1 10.0.4.1/24 "$MP_RTR" r4 10.0.4.2/24 || return 1
	mp_link "$MP_RTR" r3 10.0.3.1/24 "$MP_SRV" s3 10.0.3.2/24 || return 1
	ip -n "$MP_SRV" addr add $MP_SRV_ADDR/32 dev lo
	ip netns exec "$MP_RTR" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$MP_RTR" route add $MP_SRV_ADDR/32 via 10.0.3.2
	ip -n "$MP_SRV" route add 10.0.1.0/24 via 10.0.3.1
	ip -n "$MP_SRV" route add 10.0.4.0/24 via 10.0.3.1
	ip -n "$MP_TCP" route add default via 10.0.4.2
	ip -n "$MP_CLI" route add default via 10.0.1.2 dev c1
	if [ "$shared" = 1 ]; then
		mp_link "$MP_CLI" c2 10.0.2.1/24 "$MP_RTR" r2 10.0.2.2/24 || return 1
		ip -n "$MP_SRV" route add 10.0.2.0/24 via 10.0.3.1
	else
		mp_link "$MP_CLI" c2 10.0.2.1/24 "$MP_SRV" s2 10.0.2.2/24 || return 1
		mp_shape "$MP_CLI" c2 "$rate" "$delay" || return 1
		tc -n "$MP_SRV" qdisc replace dev s2 root netem delay "${delay}ms" limit 10000
	fi
	ip -n "$MP_CLI" route add default via 10.0.2.2 dev c2 table 2
	ip -n "$MP_CLI" rule add from 10.0.2.1 table 2
	ip -n "$MP_CLI" mptcp limits set subflow 2 add_addr_accepted 0
	ip -n "$MP_SRV" mptcp limits set subflow 2 add_addr_accepted 0
	ip -n "$MP_CLI" mptcp endpoint add 10.0.2.1 dev c2 subflow || return 1
	mp_shape "$MP_RTR" r3 "$rate" "$delay" || return 1
	tc -n "$MP_SRV" qdisc replace dev s3 root netem delay "${delay}ms" limit 10000
}

# mp_goodput FILE: goodput in bit/s from an xfer summary line (bytes received / secs).
mp_goodput() {
	local line
	line=$(grep '^sent=' "$1") || { echo 0; return 1; }
	awk -v r="$(mp_field "$line" recv)" -v s="$(mp_field "$line" secs)" 'BEGIN { printf("%d\n", (s > 0) ? r * 8 / s : 0) }'
}

# mp_proxy_topology: a mobile client, an MPTCP proxy and a legacy TCP server.
#
#   MP_CLI c1 10.0.1.1 ("wifi")     --- p1 10.0.1.2  MP_PRX p3 10.0.3.1 --- s3 10.0.3.2  MP_SRV
#          c2 10.0.2.1 ("cellular") --- p2 10.0.2.2  (10.0.0.1 on lo)       (MPTCP off)
#   (and 2001:db8:N::x/64 on each link, 2001:db8::1 on the proxy's lo)
#
# The proxy listens on MP_PROXY_PORT of its service address 10.0.0.1 / 2001:db8::1 and
# may connect to the server's networks. The client sends every TCP connection to
# 10.0.3.0/24 and 2001:db8:3::/64 through the proxy (nft DNAT + ct mark), and its path
# manager opens a second subflow over "cellular". Shaping: wifi WIFI_MBIT/WIFI_MS,
# cellular CELL_MBIT/CELL_MS (one way), both directions; proxy-server unshaped.
MP_PROXY_PORT=1080
MP_PROXY_MARK=0x4d50
mp_proxy_topology() {
	local wr=${WIFI_MBIT:-40} wd=${WIFI_MS:-5} cr=${CELL_MBIT:-10} cd=${CELL_MS:-25}
	mp_ns_new MP_CLI MP_PRX MP_SRV || return 1
	mp_link "$MP_CLI" c1 10.0.1.1/24 "$MP_PRX" p1 10.0.1.2/24 || return 1
	mp_link "$MP_CLI" c2 10.0.2.1/24 "$MP_PRX" p2 10.0.2.2/24 || return 1
	mp_link "$MP_PRX" p3 10.0.3.1/24 "$MP_SRV" s3 10.0.3.2/24 || return 1
	local i
	for i in 1 2; do
		ip -n "$MP_CLI" addr add 2001:db8:$i::1/64 dev c$i nodad
		ip -n "$MP_PRX" addr add 2001:db8:$i::2/64 dev p$i nodad
	done
	ip -n "$MP_PRX" addr add 2001:db8:3::1/64 dev p3 nodad
	ip -n "$MP_SRV" addr add 2001:db8:3::2/64 dev s3 nodad
	ip -n "$MP_PRX" addr add 10.0.0.1/32 dev lo
	ip -n "$MP_PRX" addr add 2001:db8::1/128 dev lo
	ip netns exec "$MP_SRV" sysctl -qw net.mptcp.enabled=0
	ip -n "$MP_PRX" mptcp limits set subflow 2 add_addr_accepted 0
	# MP_CELL_BACKUP=1: the cellular subflow is a backup (used only when wifi fails).
	local flags=subflow
	[ "${MP_CELL_BACKUP:-0}" = 1 ] && flags="subflow backup"
	mp_client_paths "$flags" || return 1
	mp_shape "$MP_CLI" c1 "$wr" "$wd" && mp_shape "$MP_PRX" p1 "$wr" "$wd" &&
	mp_shape "$MP_CLI" c2 "$cr" "$cd" && mp_shape "$MP_PRX" p2 "$cr" "$cd" || return 1
	# MP_PROXY_CC: the proxy's congestion control (its listener's subflows inherit it).
	if [ -n "${MP_PROXY_CC:-}" ]; then
		# A namespace may only default to an algorithm the host allows.
		grep -qw "$MP_PROXY_CC" /proc/sys/net/ipv4/tcp_allowed_congestion_control ||
			sysctl -qw net.ipv4.tcp_allowed_congestion_control="$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control) $MP_PROXY_CC" || return 1
		ip netns exec "$MP_PRX" sysctl -qw net.ipv4.tcp_congestion_control="$MP_PROXY_CC" || return 1
	fi
	ip netns exec "$MP_PRX" sysctl -qw \
		net.mptcp_proxy.allowed_clients="10.0.0.0/8 2001:db8::/32" \
		net.mptcp_proxy.allowed_targets="10.0.3.0/24 10.0.8.0/24 10.0.9.0/24 2001:db8:3::/64" \
		net.mptcp_proxy.allowed_ports="1-65535" \
		net.mptcp_proxy.port=$MP_PROXY_PORT || return 1
	mp_client_via_proxy 10.0.0.1 2001:db8::1 "10.0.3.0/24, 10.0.8.0/24, 10.0.9.0/24" 2001:db8:3::/64
}

# mp_client_paths [FLAGS]: MP_CLI's two paths, as the topologies here wire them: wifi
# (c1, 10.0.1.1 / 2001:db8:1::1, gateway .2) carries the default route, cellular (c2,
# 10.0.2.1 / 2001:db8:2::1) what is sent from its own address (a rule); upstream's
# default limits with two subflows, and one endpoint on cellular with FLAGS (default
# "subflow"), IPv4 and IPv6, so the path manager joins over cellular.
mp_client_paths() {
	local flags=${1:-subflow}
	ip -n "$MP_CLI" route add default via 10.0.1.2 dev c1 &&
	ip -n "$MP_CLI" route add default via 10.0.2.2 dev c2 table 2 &&
	ip -n "$MP_CLI" rule add from 10.0.2.1 table 2 &&
	ip -n "$MP_CLI" -6 route add default via 2001:db8:1::2 dev c1 &&
	ip -n "$MP_CLI" -6 route add default via 2001:db8:2::2 dev c2 table 2 &&
	ip -n "$MP_CLI" -6 rule add from 2001:db8:2::1 table 2 &&
	ip -n "$MP_CLI" mptcp limits set subflow 2 add_addr_accepted 0 &&
	ip -n "$MP_CLI" mptcp endpoint add 10.0.2.1 dev c2 $flags &&
	ip -n "$MP_CLI" mptcp endpoint add 2001:db8:2::1 dev c2 $flags
}

# mp_client_via_proxy ADDR4 ADDR6 NETS4 NET6: MP_CLI sends every TCP connection to NETS4
# (an nft set's elements, comma-separated) and NET6 to the proxy at ADDR4 / ADDR6, port
# MP_PROXY_PORT (nft DNAT), marked so that the module adds the proxy-target option
# (client_ct_mark), as proxy-admin.rst sets a client up.
mp_client_via_proxy() {
	ip netns exec "$MP_CLI" sysctl -qw net.mptcp_proxy.client_ct_mark=$MP_PROXY_MARK || return 1
	ip netns exec "$MP_CLI" nft -f - <<EOF2
table inet mptcp_proxy {
	chain out {
		type nat hook output priority -100;
		meta l4proto tcp ip daddr { $3 } ct mark set $MP_PROXY_MARK dnat ip to $1:$MP_PROXY_PORT
		meta l4proto tcp ip6 daddr $4 ct mark set $MP_PROXY_MARK dnat ip6 to [$2]:$MP_PROXY_PORT
	}
}
EOF2
}

# mp_proxy_stat NS NAME: a counter of /proc/net/mptcp_proxy_stat (without "Proxy").
mp_proxy_stat() {
	ip netns exec "$1" awk -v n="Proxy$2" '$1 == n { print $2; f=1 } END { if (!f) print 0 }' /proc/net/mptcp_proxy_stat
}

# mp_same_stream CLIENT_LINE SERVER_LINE: both directions of an xfer pair match.
mp_same_stream() {
	[ -n "$1" ] && [ -n "$2" ] &&
	[ "$(mp_field "$1" sent)" = "$(mp_field "$2" recv)" ] &&
	[ "$(mp_field "$1" sent_sum)" = "$(mp_field "$2" recv_sum)" ] &&
	[ "$(mp_field "$2" sent)" = "$(mp_field "$1" recv)" ] &&
	[ "$(mp_field "$2" sent_sum)" = "$(mp_field "$1" recv_sum)" ]
}
