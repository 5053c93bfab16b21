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
# the application's 100 ms ticks (time, bytes, Mbit/s) to /out/demo-ticks.csv (the host
# plots them). Every rate is bytes over the time between two samples, as read with them
# (a slow host stretches a round beyond its second; nothing assumes it took one). The
# demo then checks itself: no path above its shaped rate by more than 5 %, and samples
# that cover the whole download; a "FAILED: self-check" line says which check failed,
# and the demo exits non-zero, as it does for a transfer that is not verified (samples
# more than 2 s apart only print a warning).
#
#   demo.sh [--duration S] [--down S] [--up S] [--wifi MBIT/MS] [--cell MBIT/MS]
#           [--cc CC] [--backup]
#     --duration   seconds the server sends (default 30)
#     --down/--up  when wifi goes down / comes back, seconds from start (default 10/20;
#                  --down 0 keeps wifi up)
#     --wifi/--cell  rate in Mbit/s and one-way delay in ms (default 40/5 and 10/25)
#     --cc         congestion control of the proxy's subflows (default lia; olia, reno,
#                  cubic, ...: any the guest has)
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
# sample: "TIME WIFI CELL APP APP_TIME", read at one instant by one process in the
# client's namespace: seconds since boot (/proc/uptime, 10 ms resolution), the bytes
# received on each path (whole frames, as the shapers count them), and the bytes the
# application got by its last tick line with that tick's time on the same clock (at
# most one tick before TIME; "-" before the first tick).
sample() {
	ip netns exec "$MP_CLI" awk -v app_log="$MP_TMP/cli" '
		FILENAME == app_log { if ($1 == "tick") { sub("recv=", "", $4); app += $4; sub("at=", "", $5); at = $5 }; next }
		FNR == 1 { v[++n] = $1 }
		END { print v[1], v[2], v[3], app + 0, (at == "" ? "-" : at) }' /proc/uptime \
		/sys/class/net/c1/statistics/rx_bytes /sys/class/net/c2/statistics/rx_bytes "$MP_TMP/cli"
}
: > "$MP_TMP/cli"
# The first sample before the client starts: every byte it gets is in both counts.
read -r t0 w0 c0 _ <<< "$(sample)"
# -i 100: the client logs the bytes it received every 100 ms (for the stall).
ip netns exec "$MP_CLI" "$MP_XFER" -c 10.0.3.2 -p 80 -i 100 -T $((duration + 120)) >> "$MP_TMP/cli" 2>&1 &
cli_pid=$!
pt=$t0 pw=$w0 pc=$c0 pa=0 pat=$t0 phase=0 lia_shown=0
csv=/out/demo.csv
echo "time_s,wifi_mbit,cell_mbit,app_mbit" > "$csv"
echo "time_s,event" > /out/demo-events.csv
printf '%6s %10s %10s %10s %10s  %s\n' time wifi cellular goodput total ""
printf '%6s %10s %10s %10s %10s\n' s Mbit/s Mbit/s Mbit/s MiB
alive=1
while [ $alive = 1 ]; do
	mp_next_second "$t0" "$pt"; k=$MP_SECOND
	# The last sample is the first one after the client is done: it covers the end.
	kill -0 $cli_pid 2>/dev/null || alive=0
	event=""
	if [ "$down" != 0 ] && [ $phase = 0 ] && [ $k -ge "$down" ]; then
		ip -n "$MP_CLI" link set c1 down; event="wifi down"; phase=1
	elif [ "$down" != 0 ] && [ $phase = 1 ] && [ $k -ge "$up" ]; then
		ip -n "$MP_CLI" link set c1 up
		ip -n "$MP_CLI" route replace default via 10.0.1.2 dev c1
		event="wifi up"; phase=2
	fi
	read -r t w c app at <<< "$(sample)"
	[ "$at" != - ] || at=$pat
	# Each rate over its own interval: the paths' between the two samples, the
	# application's between its two last ticks (it had 0 bytes at the first sample).
	awk -v t0="$t0" -v pt="$pt" -v t="$t" -v pw="$pw" -v w="$w" -v pc="$pc" -v c="$c" \
		-v pat="$pat" -v at="$at" -v pa="$pa" -v a="$app" -v ev="$event" -v csv="$csv" 'BEGIN {
		dt = t - pt; if (dt <= 0) dt = 0.01
		wm = (w - pw) * 8 / dt / 1e6; cm = (c - pc) * 8 / dt / 1e6
		am = (at > pat) ? (a - pa) * 8 / (at - pat) / 1e6 : 0
		printf "%6.1f %10.2f %10.2f %10.2f %10d  %s\n", t - t0, wm, cm, am, a / 1048576, ev
		printf "%.2f,%.2f,%.2f,%.2f\n", t - t0, wm, cm, am >> csv
		if (ev != "") printf "%.2f,%s\n", t - t0, ev >> "/out/demo-events.csv" }'
	if [ $lia_shown = 0 ] && [ $k -ge 3 ] && { [ "$cc" = lia ] || [ "$cc" = olia ]; }; then
		echo "       /proc/net/lia on the proxy: $(ip netns exec "$MP_PRX" tail -n +2 /proc/net/lia | tr -s ' ' | head -1)"
		lia_shown=1
	fi
	pt=$t pw=$w pc=$c pa=$app pat=$at
done
wait $cli_pid; rc=$?
wait $srv_pid
cli=$(grep '^sent=' "$MP_TMP/cli") srv=$(grep '^sent=' "$MP_TMP/srv")
w=$((pw - w0)) c=$((pc - c0))
# time (since the first sample, as in demo.csv), bytes and Mbit/s of each tick; a tick's
# length is the time since the one before.
grep '^tick' "$MP_TMP/cli" | awk -v t0="$t0" '{ sub("t=", "", $2); sub("recv=", "", $4); sub("at=", "", $5)
	dt = $2 - prev; prev = $2
	printf "%.3f,%s,%.2f\n", $5 - t0, $4, (dt > 0 ? $4 * 8 / dt / 1e6 : 0) }' > /out/demo-ticks.csv

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
# The longest stretch of ticks in which the application got less than a tenth of the
# transfer's median rate (a few stray packets do not end a stall), between its first
# and last byte; rates and lengths come from the ticks' times.
med=$(awk -F, '{ b[NR] = $2; r[NR] = $3 } END { f = 0; l = 0; for (i = 1; i <= NR; i++) if (b[i] > 0) { if (!f) f = i; l = i }
	for (i = f; i <= l && f; i++) print r[i] }' /out/demo-ticks.csv | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] + 0 }')
awk -F, -v down="$down" -v med="$med" '
	{ t[NR] = $1; b[NR] = $2; r[NR] = $3 }
	END {
		first = 0; last = 0
		for (i = 1; i <= NR; i++) if (b[i] > 0) { if (!first) first = i; last = i }
		lim = med / 10
		best = 0; at = 0; from = -1
		for (i = first; i <= last && first; i++) {
			if (r[i] < lim) {
				if (from < 0) from = (i > 1 ? t[i - 1] : 0)
				if (t[i] - from > best) { best = t[i] - from; at = from }
			} else from = -1
		}
		printf "longest stall: %d ms below a tenth of the median rate (%.1f of %.1f Mbit/s)", best * 1000 + 0.5, lim, med
		if (best) printf ", from %.1f s", at
		if (down != 0) printf "; wifi went down at %d s", down
		printf "\n"
	}' /out/demo-ticks.csv
# The self-checks (see the top): a path faster than its shaper, or samples that stop
# short of the download's end, mean that the rates above are not to be trusted.
# Samples more than 2 s apart only warn.
checks=$(awk -F, -v wr="${wifi%/*}" -v cr="${cell%/*}" -v dur="$duration" '
	NR > 1 { n++; if ($1 - last > gap) gap = $1 - last; last = $1
		if ($2 > wmax) { wmax = $2; wt = $1 }
		if ($3 > cmax) { cmax = $3; ct = $1 }
		if ($2 > wr * 1.05) wbad++
		if ($3 > cr * 1.05) cbad++ }
	END {
		if (wbad) printf "FAILED: self-check: wifi above its shaped %d Mbit/s + 5 %% in %d of %d samples (%.2f Mbit/s at %.1f s)\n", wr, wbad, n, wmax, wt
		if (cbad) printf "FAILED: self-check: cellular above its shaped %d Mbit/s + 5 %% in %d of %d samples (%.2f Mbit/s at %.1f s)\n", cr, cbad, n, cmax, ct
		if (last < dur) printf "FAILED: self-check: the samples cover %.1f s of the %d s download\n", last, dur
		if (!wbad && !cbad && last >= dur)
			printf "self-check: passed: no path above its shaped rate + 5 %% (highest: wifi %.2f of %d, cellular %.2f of %d Mbit/s); %d samples cover %.1f s of the %d s download\n", wmax, wr, cmax, cr, n, last, dur
		# the rates are still right, but the flows may have been slowed down too
		if (gap > 2) printf "WARNING: self-check: samples up to %.1f s apart (due every second): the guest was short of CPU time\n", gap
	}' "$csv")
echo "$checks"
case $checks in *FAILED:*) rc=1 ;; esac
echo "proxy: $(ip netns exec "$MP_PRX" awk '$1 ~ /Proxy(ConnAccepted|ConnClosed|ConnReset|BytesUp|BytesDown)$/ { printf "%s=%s ", substr($1, 6), $2 }' /proc/net/mptcp_proxy_stat)"
{ [ "$cc" = lia ] || [ "$cc" = olia ]; } && echo "proxy lia/olia counters: $(ip netns exec "$MP_PRX" cat /proc/net/lia_stat | tr -s ' ' | tr '\n' ' ')"
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
