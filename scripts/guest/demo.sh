#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, run inside the QEMU guest by scripts/main.sh: load mptcp_proxy.ko, build
# the two-path testbed (a "wifi" path: fast, short RTT; a "cellular" path: slower, longer
# RTT) and download over one MPTCP connection using both, with the congestion control
# CC (default lia) on the server's subflows, printing a line per second with the
# throughput of each path, then a summary with lia's coupling state and counters.
#
#   demo.sh [--size MIB] [--wifi MBIT/DELAY_MS] [--cell MBIT/DELAY_MS] [--cc CC]
. /selftests/lib.sh

size_mib=32 wifi=40/5 cell=10/30 cc=lia
while [ $# -gt 0 ]; do
	case $1 in
	--size) size_mib=$2; shift 2 ;;
	--wifi) wifi=$2; shift 2 ;;
	--cell) cell=$2; shift 2 ;;
	--cc) cc=$2; shift 2 ;;
	-h|--help) sed -n '3,10p' "$0"; exit 0 ;;
	*) echo "demo: unknown option $1" >&2; exit 2 ;;
	esac
done
size=$((size_mib * 1024 * 1024))
MP_TMP=$(mktemp -d)
trap 'mp_cleanup; rm -rf "$MP_TMP"' EXIT

echo "== loading mptcp_proxy.ko"
insmod "$MP_MODULE" || exit 1
grep '^mptcp_proxy ' /proc/modules
dmesg | grep mptcp_proxy | tail -2

echo "== testbed: wifi ${wifi%/*} Mbit/s ${wifi#*/} ms, cellular ${cell%/*} Mbit/s ${cell#*/} ms (one way)"
mp_testbed_two_paths "${wifi%/*}" "${wifi#*/}" "${cell%/*}" "${cell#*/}" || exit 1

mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -s $size -C "$cc" -T 300
mp_wait_listen "$MP_SRV" 5201
echo "== downloading $size_mib MiB from the server over one MPTCP connection ($cc on the server's subflows)"
ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -T 300 > "$MP_TMP/cli" 2>&1 &
cli_pid=$!
w0=$(mp_dev_bytes "$MP_CLI" c1 rx) c0=$(mp_dev_bytes "$MP_CLI" c2 rx)
wprev=$w0 cprev=$c0 t=0
printf '%5s %12s %12s %12s\n' time wifi_Mbit/s cell_Mbit/s total_MiB
while kill -0 $cli_pid 2>/dev/null; do
	sleep 1; t=$((t + 1))
	w=$(mp_dev_bytes "$MP_CLI" c1 rx) c=$(mp_dev_bytes "$MP_CLI" c2 rx)
	[ $t = 3 ] && [ "$cc" = lia ] && echo "   /proc/net/lia on the server: $(ip netns exec "$MP_SRV" cat /proc/net/lia | tail -n +2 | tr -s ' ')"
	printf '%4ss %12s %12s %12s\n' $t \
		"$(( (w - wprev) * 8 / 1000000 ))" "$(( (c - cprev) * 8 / 1000000 ))" \
		"$(( (w - w0 + c - c0) / 1048576 ))"
	wprev=$w cprev=$c
done
wait $cli_pid; rc=$?
wait "$MP_LAST_PID"
cli=$(cat "$MP_TMP/cli") srv=$(grep '^sent=' "$MP_TMP/srv")
w=$((wprev - w0)) c=$((cprev - c0))
echo "== summary"
echo "client: $cli"
echo "server: $srv"
if [ $rc = 0 ] && [ "$(mp_field "$cli" recv_sum)" = "$(mp_field "$srv" sent_sum)" ] &&
   [ "$(mp_field "$cli" recv)" = $size ]; then
	echo "verified: $size bytes, checksum $(mp_field "$cli" recv_sum) on both ends"
else
	echo "FAILED: transfer incomplete or corrupted"; rc=1
fi
echo "path share: wifi $((w * 100 / (w + c + 1)))%, cellular $((c * 100 / (w + c + 1)))% of $((w + c)) bytes received"
[ "$cc" = lia ] && echo "server lia counters: $(ip netns exec "$MP_SRV" cat /proc/net/lia_stat | tr -s ' ' | tr '\n' ' ')"
echo "server MPTCP counters: $(ip netns exec "$MP_SRV" nstat -asz | awk '/MPTcpExt(MPCapableSYNRX|MPJoinSynRx|MPJoinAckRx) /{printf "%s=%s ", $1, $2}')"
mp_cleanup
rmmod mptcp_proxy && echo "== mptcp_proxy.ko unloaded"
exit $rc
