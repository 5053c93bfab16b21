#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmarks, run inside the QEMU guest by scripts/bench.sh. One topology (the
# proxy tests': a client with wifi and cellular paths, a middle namespace, a server)
# used three ways, measured in the same run, runs interleaved:
#   routed   the middle namespace is a plain IP router and the server speaks MPTCP
#            (same hops, no termination: the upper bound for any relay)
#   proxy    mptcp_proxy in the middle, a TCP-only server
#   haproxy  HAProxy (TCP mode, splicing) in the middle under mptcpize, a TCP-only server
# Tests: bulk download and upload on the shaped paths and unshaped (CPU-bound), with
# guest-wide CPU seconds per GiB (xfer -z: no checksums, so the endpoints cost little); short connections (connect, 100 B request, 1 KiB
# answer, close) per second and time to first byte; memory per idle connection.
# Raw samples: /out/bench-raw.tsv (test mode metric value run); medians: /out/bench.tsv.
#
#   bench.sh [--runs N] [--secs S] [--procs P] [--idle N] [--tests "shaped unshaped rr mem"]
# --tests profile: instead, unshaped transfers through the proxy and HAProxy under
# "perf record -a" (cpu-clock sampling; the guest has no PMU); the top of each profile
# goes to /out/profile-MODE-DIR.txt. Needs perf in the guest (scripts/bench.sh copies it).
. /selftests/lib.sh

runs=3 secs=8 procs=4 idle=500 tests="shaped unshaped rr mem"
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--procs) procs=$2; shift 2 ;;
	--idle) idle=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	*) echo "bench: unknown option $1" >&2; exit 2 ;;
	esac
done
MP_TMP=$(mktemp -d)
trap 'mp_cleanup; rm -rf "$MP_TMP"' EXIT
CRR=/selftests/crr
raw=/out/bench-raw.tsv
: > "$raw"

insmod "$MP_MODULE" || exit 1
mp_proxy_topology || exit 1
# For "routed": the server also answers on 10.0.5.2, reached through the middle
# namespace as a router (no DNAT: the client's nft rule only covers 10.0.3.0/24).
ip -n "$MP_SRV" addr add 10.0.5.2/32 dev s3
ip -n "$MP_SRV" route add 10.0.1.0/24 via 10.0.3.1
ip -n "$MP_SRV" route add 10.0.2.0/24 via 10.0.3.1
ip -n "$MP_SRV" mptcp limits set subflow 2 add_addr_accepted 0
ip -n "$MP_PRX" route add 10.0.5.2/32 via 10.0.3.2
ip netns exec "$MP_PRX" sysctl -qw net.ipv4.ip_forward=1
# Many short connections: reuse TIME-WAIT ports.
for ns in "$MP_CLI" "$MP_PRX" "$MP_SRV"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"
done

cat > "$MP_TMP/haproxy.cfg" <<EOF
global
	maxconn 20000
	nbthread 2
defaults
	mode tcp
	timeout connect 5s
	timeout client 120s
	timeout server 120s
	option splice-auto
frontend bulk
	bind 10.0.0.1:8080
	default_backend bulk
backend bulk
	server s 10.0.3.2:80
frontend rr
	bind 10.0.0.1:8081
	default_backend rr
backend rr
	server s 10.0.3.2:5300
EOF
ip netns exec "$MP_PRX" mptcpize run haproxy -f "$MP_TMP/haproxy.cfg" -db > "$MP_TMP/haproxy.log" 2>&1 &
MP_PIDS+=($!)
mp_wait_listen "$MP_PRX" 8080 || { echo "haproxy did not start:"; cat "$MP_TMP/haproxy.log"; exit 1; }
echo "haproxy: $(haproxy -v | head -1); listener: $(ip netns exec "$MP_PRX" ss -Hltn 'sport = :8080' | head -1 | tr -s ' ')"
ip netns exec "$MP_PRX" ss -HMltn 'sport = :8080' | grep -q . && echo "haproxy listens with MPTCP (mptcpize)"

# target MODE PORT_KIND: the address and port the client uses in a mode.
target() {
	case $1/$2 in
	routed/bulk) echo "10.0.5.2 80" ;;
	routed/rr) echo "10.0.5.2 5300" ;;
	proxy/bulk) echo "10.0.3.2 80" ;;
	proxy/rr) echo "10.0.3.2 5300" ;;
	haproxy/bulk) echo "10.0.0.1 8080" ;;
	haproxy/rr) echo "10.0.0.1 8081" ;;
	esac
}
# The server speaks MPTCP only for "routed"; the others relay to a TCP-only server.
srv_proto() { [ "$1" = routed ] && echo mptcp || echo tcp; }
set_mode() {
	ip netns exec "$MP_SRV" sysctl -qw net.mptcp.enabled=$([ "$1" = routed ] && echo 1 || echo 0)
}
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$raw"; }

# transfer MODE down|up [CMD...]: one $secs transfer (xfer -z), the client run under CMD
# if given; outputs in $MP_TMP/t.cli and t.srv, busy jiffies of the client's run in
# T_JIFFIES.
transfer() {
	local mode=$1 dir=$2 addr port sargs=() cargs=() j0
	shift 2
	read -r addr port <<< "$(target "$mode" bulk)"
	if [ "$dir" = down ]; then sargs=(-t "$secs"); else cargs=(-t "$secs"); fi
	set_mode "$mode"
	mp_bg "$MP_TMP/t.srv" ip netns exec "$MP_SRV" "$MP_XFER" -z -l -m "$(srv_proto "$mode")" -p 80 "${sargs[@]}" -T 120
	local spid=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 80
	j0=$(busy_jiffies)
	"$@" ip netns exec "$MP_CLI" "$MP_XFER" -z -c "$addr" -p "$port" "${cargs[@]}" -T 120 > "$MP_TMP/t.cli" 2>&1
	T_JIFFIES=$(( $(busy_jiffies) - j0 ))
	wait "$spid"
}

# bulk MODE down|up RUN TAG: one transfer, its goodput and CPU per GiB recorded.
bulk() {
	local mode=$1 dir=$2 run=$3 tag=$4 line bytes s
	transfer "$mode" "$dir"
	if [ "$dir" = down ]; then line=$(grep '^sent=' "$MP_TMP/t.cli"); else line=$(grep '^sent=' "$MP_TMP/t.srv"); fi
	bytes=$(mp_field "$line" recv) s=$(mp_field "$line" secs)
	if [ -z "$bytes" ] || [ "$bytes" = 0 ]; then
		echo "bulk $tag $mode $dir run $run FAILED: $(cat "$MP_TMP/t.cli" "$MP_TMP/t.srv" | tail -3 | tr '\n' ' ')"
		return
	fi
	local mbit cpu
	mbit=$(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.2f", b * 8 / s / 1e6 }')
	cpu=$(awk -v j="$T_JIFFIES" -v b="$bytes" 'BEGIN { printf "%.2f", j / 100 / (b / 1073741824) }')
	record "bulk_${tag}_$dir" "$mode" mbit "$mbit" "$run"
	record "bulk_${tag}_$dir" "$mode" cpu_s_per_gib "$cpu" "$run"
	echo "bulk $tag $dir $mode run $run: $mbit Mbit/s, guest CPU $cpu s/GiB"
}

# rr MODE RUN: short connections for $secs seconds with $procs client processes.
rr() {
	local mode=$1 run=$2 addr port out
	read -r addr port <<< "$(target "$mode" rr)"
	set_mode "$mode"
	mp_bg "$MP_TMP/rr.srv" ip netns exec "$MP_SRV" "$CRR" -l -m "$(srv_proto "$mode")" -p 5300 -T $((secs + 20))
	local spid=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 5300
	out=$(ip netns exec "$MP_CLI" "$CRR" -c "$addr" -p "$port" -t "$secs" -P "$procs" 2>&1 | tail -1)
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
	echo "rr $mode run $run: $out"
	case $out in conns=*) ;; *) return ;; esac
	record rr "$mode" conns_per_s "$(mp_field "$out" rate)" "$run"
	record rr "$mode" ttfb_p50_ms "$(awk -v u="$(mp_field "$out" ttfb_p50_us)" 'BEGIN { printf "%.2f", u / 1000 }')" "$run"
	record rr "$mode" ttfb_p99_ms "$(awk -v u="$(mp_field "$out" ttfb_p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')" "$run"
	record rr "$mode" errors "$(mp_field "$out" errors)" "$run"
	# Let TIME-WAIT and the proxy's closing connections settle before the next test.
	sleep 2
}

mem_free_kib() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }

# mem MODE RUN: memory per idle connection, guest-wide (kernel and processes).
mem() {
	local mode=$1 run=$2 addr port before during i
	read -r addr port <<< "$(target "$mode" rr)"
	set_mode "$mode"
	mp_bg "$MP_TMP/m.srv" ip netns exec "$MP_SRV" "$CRR" -l -m "$(srv_proto "$mode")" -p 5300 -T 60
	local spid=$MP_LAST_PID
	mp_wait_listen "$MP_SRV" 5300
	sleep 1; sync
	before=$(mem_free_kib)
	ip netns exec "$MP_CLI" "$CRR" -c "$addr" -p "$port" -H "$idle" -t 4 > "$MP_TMP/m.cli" 2>&1 &
	local cpid=$!
	for i in $(seq 100); do grep -q '^held=' "$MP_TMP/m.cli" && break; sleep 0.1; done
	sleep 1
	during=$(mem_free_kib)
	wait $cpid
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
	if ! grep -q "^held=$idle" "$MP_TMP/m.cli"; then
		echo "mem $mode run $run FAILED: $(cat "$MP_TMP/m.cli")"; return
	fi
	local per=$(( (before - during) * 1024 / idle ))
	record mem "$mode" bytes_per_conn "$per" "$run"
	echo "mem $mode run $run: $idle idle connections took $(( (before - during) / 1024 )) MiB: $per bytes each"
	sleep 2
}

unshape() {
	local d
	for d in c1 c2; do tc -n "$MP_CLI" qdisc del dev $d root 2>/dev/null; done
	for d in p1 p2; do tc -n "$MP_PRX" qdisc del dev $d root 2>/dev/null; done
}
reshape() {
	mp_shape "$MP_CLI" c1 40 5; mp_shape "$MP_PRX" p1 40 5
	mp_shape "$MP_CLI" c2 10 25; mp_shape "$MP_PRX" p2 10 25
}

modes="routed proxy haproxy"

# profile MODE DIR: one unshaped transfer under perf, the top symbols to /out.
profile() {
	local mode=$1 dir=$2
	transfer "$mode" "$dir" perf record -q -a -e cpu-clock -F 499 -o "$MP_TMP/perf.data" --
	echo "profile $mode $dir: $(grep '^sent=' "$MP_TMP/t.cli" "$MP_TMP/t.srv" | tr '\n' ' ')"
	perf report -q -i "$MP_TMP/perf.data" --stdio --sort comm,sym 2>/dev/null | grep -v '^$' | head -40 > "/out/profile-$mode-$dir.txt"
	head -15 "/out/profile-$mode-$dir.txt"
}
if [[ " $tests " == *" profile "* ]]; then
	unshape
	for m in proxy haproxy; do profile $m up; profile $m down; done
	exit 0
fi
for run in $(seq "$runs"); do
	echo "== run $run of $runs"
	has() { [[ " $tests " == *" $1 "* ]]; }
	reshape
	has shaped && for m in $modes; do bulk $m down $run shaped; bulk $m up $run shaped; done
	unshape
	has unshaped && for m in $modes; do bulk $m down $run unshaped; bulk $m up $run unshaped; done
	has rr && for m in $modes; do rr $m $run; done
	has mem && for m in $modes; do mem $m $run; done
done

# Medians per test, mode and metric.
sort -k1,1 -k2,2 -k3,3 -k4,4g "$raw" | awk -F'\t' '
	{ k = $1 "\t" $2 "\t" $3; v[k, ++n[k]] = $4; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
	END { for (i = 1; i <= m; i++) { k = order[i]; c = n[k]; print k "\t" v[k, int((c + 1) / 2)] "\t" c } }' > /out/bench.tsv
echo "== medians (test, mode, metric, median, runs)"
cat /out/bench.tsv
echo "proxy counters: $(ip netns exec "$MP_PRX" awk '$1 ~ /Proxy(ConnAccepted|ConnClosed|ConnReset|RefusedTooMany|Upstream)/ && $2 != 0 { printf "%s=%s ", substr($1, 6), $2 }' /proc/net/mptcp_proxy_stat)"
