#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, run inside the QEMU guest by scripts/main.sh. A mobile client with a
# "wifi" path (fast, short RTT) and a "cellular" path (slower, longer RTT) downloads from
# a legacy TCP server (MPTCP disabled) through the in-kernel MPTCP proxy; the proxy's
# MPTCP subflows run the congestion control CC (default lia). Midway wifi goes down,
# later it comes back. A line per second shows each path's throughput; the summary
# gives the bytes moved and verified, each path's share and the longest stall; the
# per-second samples go to /out/demo.csv, the wifi events to /out/demo-events.csv and
# the application's bytes per 100 ms to /out/demo-ticks.csv (the host plots them).
#
#   demo.sh [--duration S] [--down S] [--up S] [--wifi MBIT/MS] [--cell MBIT/MS]
#           [--cc CC] [--backup]
#     --duration   seconds the server sends (default 30)
#     --down/--up  when wifi goes down / comes back, seconds from start (default 10/20;
#                  --down 0 keeps wifi up)
#     --wifi/--cell  rate in Mbit/s and one-way delay in ms (default 40/5 and 10/25)
#     --cc         congestion control of the proxy's subflows (default lia)
#     --backup     cellular is a backup path (MPTCP uses it only while wifi is down)
. /selftests/lib.sh

duration=30 down=10 up=20 wifi=40/5 cell=10/25 cc=lia backup=0
while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=$2; shift 2 ;;
	--down) down=$2; shift 2 ;;
	--up) up=$2; shift 2 ;;
	--wifi) wifi=$2; shift 2 ;;
	--cell) cell=$2; shift 2 ;;
	--cc) cc=$2; shift 2 ;;
	--backup) backup=1; shift ;;
	-h|--help) sed -n '3,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) echo "demo: unknown option $1 (--help lists them)" >&2; exit 2 ;;
	esac
done
for v in "$duration" "$down" "$up" "${wifi%/*}" "${wifi#*/}" "${cell%/*}" "${cell#*/}"; do
	case $v in ''|*[!0-9]*) echo "demo: not a whole number: '$v'" >&2; exit 2 ;; esac
done
[ "$down" = 0 ] || [ "$down" -lt "$up" ] || { echo "demo: --down must come before --up" >&2; exit 2; }
MP_TMP=$(mktemp -d)
trap 'mp_cleanup; rm -rf "$MP_TMP"' EXIT

echo "== loading mptcp_proxy.ko"
insmod "$MP_MODULE" || exit 1
grep '^mptcp_proxy ' /proc/modules
grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control ||
	{ echo "demo: congestion control '$cc' not available" >&2; exit 2; }

echo "== topology: client --wifi ${wifi%/*} Mbit/s ${wifi#*/} ms--> proxy --> legacy TCP server"
echo "             client --cellular ${cell%/*} Mbit/s ${cell#*/} ms--^   (delays one way; $cc on the proxy's subflows)"
[ $backup = 1 ] && echo "   cellular is a backup subflow"
WIFI_MBIT=${wifi%/*} WIFI_MS=${wifi#*/} CELL_MBIT=${cell%/*} CELL_MS=${cell#*/} \
	MP_PROXY_CC=$cc MP_CELL_BACKUP=$backup mp_proxy_topology || exit 1

mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -m tcp -p 80 -t "$duration" -S 42 -T $((duration + 120))
srv_pid=$MP_LAST_PID
mp_wait_listen "$MP_SRV" 80
echo "== the client downloads from 10.0.3.2:80 for $duration s; nftables sends it through the proxy"
[ "$down" = 0 ] || echo "   wifi goes down at ${down} s and comes back at ${up} s"
# -i 100: the client logs the bytes it received every 100 ms (for the stall).
ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -i 100 -T $((duration + 120)) > "$MP_TMP/cli" 2>&1 &
cli_pid=$!
rx() { mp_dev_bytes "$MP_CLI" "$1" rx; }
w0=$(rx c1) c0=$(rx c2)
wprev=$w0 cprev=$c0 aprev=0 t=0 start=$(date +%s%N)
csv=/out/demo.csv
echo "time_s,wifi_mbit,cell_mbit,app_mbit" > "$csv"
echo "time_s,event" > /out/demo-events.csv
printf '%6s %10s %10s %10s %10s  %s\n' time wifi cellular goodput total ""
printf '%6s %10s %10s %10s %10s\n' s Mbit/s Mbit/s Mbit/s MiB
while kill -0 $cli_pid 2>/dev/null; do
	t=$((t + 1))
	# Sleep to the next whole second since the start (no drift).
	now=$(date +%s%N)
	sleep "$(awk -v d=$(( start + t * 1000000000 - now )) 'BEGIN { printf "%.3f", (d > 0 ? d : 0) / 1e9 }')"
	event=""
	if [ "$down" != 0 ] && [ $t = "$down" ]; then
		ip -n "$MP_CLI" link set c1 down; event="wifi down"
	elif [ "$down" != 0 ] && [ $t = "$up" ]; then
		ip -n "$MP_CLI" link set c1 up
		ip -n "$MP_CLI" route replace default via 10.0.1.2 dev c1
		event="wifi up"
	fi
	w=$(rx c1) c=$(rx c2)
	app=$(awk '$1 == "tick" { sub("recv=", "", $4); s += $4 } END { print s + 0 }' "$MP_TMP/cli")
	[ $t = 3 ] && [ "$cc" = lia ] &&
		echo "       /proc/net/lia on the proxy: $(ip netns exec "$MP_PRX" tail -n +2 /proc/net/lia | tr -s ' ' | head -1)"
	wm=$(( (w - wprev) * 8 / 1000 )) cm=$(( (c - cprev) * 8 / 1000 )) am=$(( (app - aprev) * 8 / 1000 ))
	printf '%6s %10s %10s %10s %10s  %s\n' $t "$(mp_div $wm 1000)" "$(mp_div $cm 1000)" "$(mp_div $am 1000)" \
		"$(( app / 1048576 ))" "$event"
	echo "$t,$(mp_div $wm 1000),$(mp_div $cm 1000),$(mp_div $am 1000)" >> "$csv"
	[ -z "$event" ] || echo "$t,$event" >> /out/demo-events.csv
	wprev=$w cprev=$c aprev=$app
done
wait $cli_pid; rc=$?
wait $srv_pid
cli=$(grep '^sent=' "$MP_TMP/cli") srv=$(grep '^sent=' "$MP_TMP/srv")
w=$((wprev - w0)) c=$((cprev - c0))
grep '^tick' "$MP_TMP/cli" | awk '{ sub("t=", "", $2); sub("recv=", "", $4); print $2 "," $4 }' > /out/demo-ticks.csv

echo "== summary"
echo "client: ${cli:-$(tail -1 "$MP_TMP/cli")}"
echo "server: $srv"
if [ $rc = 0 ] && [ -n "$cli" ] && [ "$(mp_field "$cli" recv_sum)" = "$(mp_field "$srv" sent_sum)" ] &&
   [ "$(mp_field "$cli" recv)" = "$(mp_field "$srv" sent)" ]; then
	echo "verified: $(mp_field "$cli" recv) bytes ($(( $(mp_field "$cli" recv) / 1048576 )) MiB) in $(mp_field "$cli" secs) s, checksum $(mp_field "$cli" recv_sum) on both ends"
else
	echo "FAILED: transfer incomplete or corrupted"; rc=1
fi
echo "path share (bytes the client received per interface): wifi $((w * 100 / (w + c + 1)))%, cellular $((c * 100 / (w + c + 1)))% of $((w + c)) bytes"
# The longest run of 100 ms ticks in which the application got less than a tenth of
# the transfer's median rate (a few stray packets do not end a stall), between its
# first and last byte.
med=$(awk -F, '{ b[NR] = $2 } END { f = 0; l = 0; for (i = 1; i <= NR; i++) if (b[i] > 0) { if (!f) f = i; l = i }
	for (i = f; i <= l && f; i++) print b[i] }' /out/demo-ticks.csv | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] + 0 }')
awk -F, -v down="$down" -v med="$med" '
	{ t[NR] = $1; b[NR] = $2 }
	END {
		first = 0; last = 0
		for (i = 1; i <= NR; i++) if (b[i] > 0) { if (!first) first = i; last = i }
		lim = med / 10
		best = 0; at = 0; run = 0
		for (i = first; i <= last; i++) {
			if (b[i] < lim) { run++; if (run > best) { best = run; at = t[i - run + 1] } } else run = 0
		}
		printf "longest stall: %d ms below a tenth of the median rate (%.1f of %.1f Mbit/s)", best * 100, lim * 8 / 1e5, med * 8 / 1e5
		if (best) printf ", from %.1f s", at - 0.1
		if (down != 0) printf "; wifi went down at %d s", down
		printf "\n"
	}' /out/demo-ticks.csv
echo "proxy: $(ip netns exec "$MP_PRX" awk '$1 ~ /Proxy(ConnAccepted|ConnClosed|ConnReset|BytesUp|BytesDown)$/ { printf "%s=%s ", substr($1, 6), $2 }' /proc/net/mptcp_proxy_stat)"
[ "$cc" = lia ] && echo "proxy lia counters: $(ip netns exec "$MP_PRX" cat /proc/net/lia_stat | tr -s ' ' | tr '\n' ' ')"
echo "client MPTCP: $(ip netns exec "$MP_CLI" nstat -asz | awk '/MPTcpExt(MPCapableSYNTX|MPJoinSynTx|MPJoinSynAckRx|MPFailTx|MPTCPRetrans) /{printf "%s=%s ", substr($1, 9), $2}')"
mp_cleanup
t0=$(date +%s%N)
if mp_module_unload; then
	echo "== mptcp_proxy.ko unloaded ($(( ($(date +%s%N) - t0) / 1000000 )) ms after the namespaces were deleted)"
else
	echo "== mptcp_proxy.ko still in use after 5 s: refcnt $(cat /sys/module/mptcp_proxy/refcnt), namespaces: $(ip netns | tr '\n' ' ')"
	for i in $(seq 30); do sleep 1; rmmod mptcp_proxy 2>/dev/null && { echo "   unloaded after $((5 + i)) s"; break; }; done
fi
exit $rc
