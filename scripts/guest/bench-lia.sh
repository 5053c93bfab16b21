#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lia and olia benchmarks, run in the QEMU guest by scripts/bench-lia.sh. Every figure is
# printed beside a baseline measured in the same run.
#
# 1. CPU cost: a bulk MPTCP upload (2 subflows) over unshaped veth with lia, olia and
#    reno, alternated RUNS times; the medians of throughput and of CPU time per GiB
#    (all CPUs, from /proc/stat), and their ratios.
# 2. Ramp-up: an MPTCP upload over two paths of RAMP_MBIT/2 each, DELAY ms one way;
#    the time until the receiver's throughput over a 100 ms interval reaches 90 % of
#    what the guest achieved at steady state (and of the configured rate), for lia, olia,
#    reno and cubic.
. /selftests/lib.sh

RUNS=${RUNS:-3} SECS=${SECS:-8} RAMP_MBIT=${RAMP_MBIT:-1000} DELAY=${DELAY:-5}
MP_TMP=$(mktemp -d)
trap 'mp_cleanup; rm -rf "$MP_TMP"' EXIT
mp_module_load || exit 1
echo "# machine: $(nproc) vCPUs (TCG), kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"

busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $6 + $7 + $8 }' /proc/stat; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# --- 1. CPU cost ---
mp_testbed_two_paths 1 1 1 1 >/dev/null
for d in c1 c2; do tc -n "$MP_CLI" qdisc del dev $d root; done
for d in s1 s2; do tc -n "$MP_SRV" qdisc del dev $d root; done
hz=100
for i in $(seq $RUNS); do
	for cc in lia olia reno; do
		mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -T 120
		mp_wait_listen "$MP_SRV" 5201
		j0=$(busy_jiffies)
		ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C $cc -t $SECS -T 120 > /dev/null
		wait $MP_LAST_PID
		j1=$(busy_jiffies)
		line=$(grep '^sent=' "$MP_TMP/srv")
		bytes=$(mp_field "$line" recv) secs=$(mp_field "$line" secs)
		awk -v b=$bytes -v s=$secs -v j=$((j1 - j0)) -v hz=$hz \
			'BEGIN { printf "%.1f %.3f\n", b * 8 / s / 1e6, (j / hz) / (b / 1073741824) }' >> "$MP_TMP/cpu.$cc"
	done
done
lia_t=$(cut -d' ' -f1 "$MP_TMP/cpu.lia" | median) reno_t=$(cut -d' ' -f1 "$MP_TMP/cpu.reno" | median)
lia_c=$(cut -d' ' -f2 "$MP_TMP/cpu.lia" | median) reno_c=$(cut -d' ' -f2 "$MP_TMP/cpu.reno" | median)
olia_t=$(cut -d' ' -f1 "$MP_TMP/cpu.olia" | median) olia_c=$(cut -d' ' -f2 "$MP_TMP/cpu.olia" | median)
echo "## CPU cost, unshaped veth, 2 subflows, median of $RUNS x ${SECS}s"
printf '%-6s %12s %16s\n' cc Mbit/s CPU_s_per_GiB
printf '%-6s %12s %16s\n' lia "$lia_t" "$lia_c" olia "$olia_t" "$olia_c" reno "$reno_t" "$reno_c"
echo "ratio lia/reno: throughput $(mp_div $lia_t $reno_t 3), CPU per GiB $(mp_div $lia_c $reno_c 3)"
echo "ratio olia/reno: throughput $(mp_div $olia_t $reno_t 3), CPU per GiB $(mp_div $olia_c $reno_c 3)"
mp_cleanup

# --- 2. Ramp-up ---
half=$((RAMP_MBIT / 2))
echo "## ramp-up: 2 paths x $half Mbit/s, ${DELAY} ms one way; time to 90%"
printf '%-6s %14s %18s %18s\n' cc steady_Mbit/s t90_of_steady_ms t90_of_rate_ms
for cc in lia olia reno cubic; do
	mp_testbed_two_paths $half $DELAY $half $DELAY >/dev/null
	mp_bg "$MP_TMP/srv" ip netns exec "$MP_SRV" "$MP_XFER" -l -p 5201 -i 100 -T 120
	mp_wait_listen "$MP_SRV" 5201
	ip netns exec "$MP_CLI" "$MP_XFER" -c $MP_SRV_ADDR -p 5201 -C $cc -t $SECS -T 120 > /dev/null
	wait $MP_LAST_PID
	# tick lines: "tick t=SECONDS sent=BYTES recv=BYTES", one per 100 ms or later on a
	# busy guest: a tick's rate is over the time since the one before.
	grep '^tick' "$MP_TMP/srv" | sed 's/[a-z]*=//g' |
		awk '{ dt = $2 - prev; prev = $2; if (dt > 0) print $2, $4 * 8 / dt / 1e6 }' > "$MP_TMP/ticks"
	n=$(wc -l < "$MP_TMP/ticks")
	steady=$(tail -n $((n / 2)) "$MP_TMP/ticks" | cut -d' ' -f2 | median)
	t90s=$(awk -v s="$steady" '$2 >= 0.9 * s { print int($1 * 1000); exit }' "$MP_TMP/ticks")
	t90r=$(awk -v s="$RAMP_MBIT" '$2 >= 0.9 * s { print int($1 * 1000); exit }' "$MP_TMP/ticks")
	printf '%-6s %14s %18s %18s\n' $cc "$steady" "${t90s:--}" "${t90r:-never}"
	mp_cleanup
done
