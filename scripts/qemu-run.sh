#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the project's kernel in QEMU with an initramfs holding the module, the selftests
# and the host tools they need, run a command in the guest, and return its exit status.
#
#   scripts/qemu-run.sh [--debug] [--timeout SECS] [--cpus N] [--mem MB] [--out DIR] \
#                       [--log FILE] -- COMMAND...
#
# --debug boots the debug kernel (scripts/build-kernel.sh --debug: KASAN, lockdep, ...)
# with the module built for it (scripts/build-all.sh --debug) and panic_on_warn=1: any
# warning stops the guest, which then reports no status.
#
# The command runs under bash in /selftests. The guest console is streamed to stdout.
# Files the guest writes to /out are copied to --out DIR. If MPTCP_PROXY_EXTRA_DIR names a
# directory, its contents are copied to /extra in the guest; MPTCP_PROXY_EXTRA_BINS adds
# host binaries (absolute paths, e.g. /usr/bin/tcpdump for a diagnosis). A guest that does not finish
# within --timeout is killed with a message and status 124. QEMU uses TCG unless a probe
# shows that KVM really works on this machine (MPTCP_PROXY_ACCEL=tcg|kvm overrides).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

timeout=600 cpus=2 mem=1536 outdir="" logfile="" debug=0
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--out) outdir=$2; shift 2 ;;
	--log) logfile=$2; shift 2 ;;
	--debug) debug=1; shift ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "usage: qemu-run.sh [options] -- COMMAND..."

if [ $debug = 1 ]; then
	KDIR=$("$TOP/scripts/build-kernel.sh" --debug --print-kdir)
	KO="$DEBUG_MODULE_DIR/rust/mptcp_proxy.ko"
	panic_on_warn=1
else
	KDIR=$("$TOP/scripts/build-kernel.sh" --print-kdir)
	KO="$TOP/rust/mptcp_proxy.ko"
	panic_on_warn=0
fi
KIMG="$KDIR/arch/x86/boot/bzImage"
[ -f "$KIMG" ] || die "no kernel at $KIMG: run scripts/build-kernel.sh (--debug for the debug one)"
[ -f "$KO" ] || die "no module at $KO: run make modules (--debug: scripts/build-all.sh --debug)"

work=$(mktemp -d /tmp/mptcp-proxy-qemu.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,tmp,run,out,etc,selftests}

# Copy a host binary and the shared libraries it loads, at the same paths.
copy_bin() {
	local bin=$1 lib
	[ -x "$bin" ] || die "host binary $bin missing: run scripts/setup-toolchain.sh"
	cp -L --parents "$bin" "$root"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
	done
}
# busybox provides the small tools; bash and iproute2/nftables come from the host,
# called through PATH, so busybox's own ip/tc applets are never linked in. GNU timeout
# (first in PATH) too: busybox's execs its own ip applet for `timeout N ip netns exec`.
cp /bin/busybox "$root/bin/busybox"
for a in cat cp cut dd df dmesg echo env expr false find free head hexdump \
	kill killall ln ls md5sum mkdir mktemp mount mv nproc od \
	pgrep pidof printf ps readlink rm seq sh sha256sum sleep sort stat \
	sync sysctl tail tar tee test timeout touch tr true uname uniq usleep wc xargs \
	yes base64 gzip awk reboot basename dirname time id stty cmp du ping; do
	ln -sf busybox "$root/bin/$a"
done
for b in /bin/bash /bin/sed /bin/grep /bin/date /usr/bin/timeout /sbin/modinfo /sbin/insmod /sbin/rmmod /sbin/lsmod /sbin/ip /sbin/tc /bin/ss /bin/nstat /usr/sbin/nft /usr/sbin/ethtool; do
	copy_bin "$b"
done
# The benchmarks' baseline: HAProxy and mptcpize (its LD_PRELOAD library too).
# perf, for profiling (scripts/bench.sh --tests profile): large, so only on request.
if [ "${MPTCP_PROXY_PERF:-0}" = 1 ]; then
	copy_bin /usr/bin/perf
fi
# More host binaries for a diagnosis (e.g. MPTCP_PROXY_EXTRA_BINS=/usr/bin/tcpdump):
# space-separated absolute paths, with their libraries.
for b in ${MPTCP_PROXY_EXTRA_BINS:-}; do
	copy_bin "$b"
done
copy_bin /usr/sbin/haproxy
copy_bin /usr/bin/mptcpize
cp -L --parents /usr/lib/x86_64-linux-gnu/mptcpize/libmptcpwrap.so.0.0.1 "$root" ||
	die "mptcpize's library missing: run scripts/setup-toolchain.sh"
mkdir -p "$root/usr/lib/x86_64-linux-gnu/tc"
cp /usr/lib/x86_64-linux-gnu/tc/*.dist "$root/usr/lib/x86_64-linux-gnu/tc/" 2>/dev/null || true
mkdir -p "$root/etc/iproute2"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"

mkdir -p "$root/lib/modules"
cp "$KO" "$root/lib/modules/"
cp -r "$TOP"/selftests/. "$root/selftests/"
cp "$TOP/scripts/guest/init" "$root/init"
mkdir -p "$root/guest" && cp "$TOP"/scripts/guest/*.sh "$root/guest/"
if [ -n "${MPTCP_PROXY_EXTRA_DIR:-}" ]; then
	[ -d "$MPTCP_PROXY_EXTRA_DIR" ] || die "MPTCP_PROXY_EXTRA_DIR=$MPTCP_PROXY_EXTRA_DIR is not a directory"
	mkdir -p "$root/extra" && cp -r "$MPTCP_PROXY_EXTRA_DIR"/. "$root/extra/"
fi
printf '%q ' "$@" > "$root/cmd"; echo >> "$root/cmd"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"

# KVM only where it was seen to boot on this machine (probe cached per boot).
accel=${MPTCP_PROXY_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	probe="$CACHE/kvm-probe.$(cat /proc/sys/kernel/random/boot_id)"
	if [ -f "$probe" ]; then
		accel=$(cat "$probe")
	elif [ -w /dev/kvm ]; then
		if timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 \
			-kernel "$KIMG" -initrd "$work/initramfs.gz" -display none -no-reboot \
			-serial stdio -monitor none -append "console=ttyS0 quiet panic=-1 rdinit=/bin/true" \
			2>/dev/null | grep -q 'Kernel panic.*init'; then
			accel=kvm
		fi
		mkdir -p "$CACHE"; echo "$accel" > "$probe"
	fi
fi
if [ "$accel" = kvm ]; then cpu=host; else cpu=max; fi
# One guest at a time: two guests on a small host starve each other, and the timing and
# throughput tests then measure the host, not the code.
mkdir -p "$CACHE"
exec 9> "$CACHE/qemu.lock"
if ! flock -n 9; then
	log "another guest is running; waiting for it to finish"
	flock 9
fi
log "qemu: accel=$accel cpus=$cpus mem=${mem}M timeout=${timeout}s kernel=${KDIR%/linux}"

console="$work/console.log"
set +e
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" \
	-smp "$cpus" -m "$mem" -kernel "$KIMG" -initrd "$work/initramfs.gz" \
	-display none -no-reboot -serial stdio -monitor none \
	-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=$panic_on_warn loglevel=4 rdinit=/init ${MPTCP_PROXY_APPEND:-}" \
	< /dev/null 2>&1 | sed -u 's/\r//g' | tee "$console" |
	sed -u '/^MPTCP_PROXY_OUT_BEGIN$/,/^MPTCP_PROXY_OUT_END$/d'
qrc=${PIPESTATUS[0]}
set -e
[ -n "$logfile" ] && cp "$console" "$logfile"
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "qemu-run: guest did not finish within ${timeout}s; killed" >&2
	exit 124
fi
if [ -n "$outdir" ] && grep -q '^MPTCP_PROXY_OUT_END$' "$console"; then
	mkdir -p "$outdir"
	sed -n '/^MPTCP_PROXY_OUT_BEGIN$/,/^MPTCP_PROXY_OUT_END$/p' "$console" |
		sed '1d;$d' | base64 -d | tar -C "$outdir" -xzf -
fi
rc=$(sed -n 's/^MPTCP_PROXY_RC=\([0-9]*\)$/\1/p' "$console" | tail -1)
if [ -z "$rc" ]; then
	if grep -qE 'Kernel panic|Oops|BUG:' "$console"; then
		echo "qemu-run: the guest kernel crashed (see the console output above)" >&2
	else
		echo "qemu-run: the guest stopped without reporting a status" >&2
	fi
	exit 125
fi
exit "$rc"
