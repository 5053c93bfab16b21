#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the project's kernel (Debian's linux-source-6.12 + scripts/kernel/patches +
# scripts/kernel/config.fragment) into the cache, keyed by everything the build depends
# on. Prints the kernel directory (KDIR) on stdout. A second run with the same inputs only
# checks the stamp; an interrupted build resumes where it stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KDIR_ONLY=0
[ "${1:-}" = "--print-kdir" ] && KDIR_ONLY=1

src_tar="/usr/src/$LINUX_SOURCE_PKG.tar.xz"
[ -f "$src_tar" ] || die "$src_tar missing: run scripts/setup-toolchain.sh"
src_ver=$(dpkg-query -W -f='${Version}' "$LINUX_SOURCE_PKG")
[ "$src_ver" = "$LINUX_SOURCE_VERSION" ] ||
	log "warning: $LINUX_SOURCE_PKG is $src_ver, the project was checked with $LINUX_SOURCE_VERSION"

# The cache key: every input that changes the built tree.
key=$( {
	echo "src $LINUX_SOURCE_PKG $src_ver"
	cat "$TOP/scripts/kernel/config.fragment" "$TOP"/scripts/kernel/patches/*.patch
	/usr/bin/rustc --version; "$BINDGEN" --version; gcc --version | head -1
	dpkg-query -W -f='${Version}\n' "libclang-$LLVM_MAJOR-dev"
	# the recipe below is an input too
	sed -n '/^# --- recipe ---$/,$p' "$0"
} | sha256sum | cut -c1-16)
KDIR="$CACHE/kernel/$key/linux"

if [ $KDIR_ONLY = 1 ]; then echo "$KDIR"; exit 0; fi
if [ -f "$KDIR/.mptcp-proxy-built" ] && [ -f "$KDIR/arch/x86/boot/bzImage" ]; then
	log "kernel cached: $KDIR"
	echo "$KDIR"; exit 0
fi
need_root

# --- recipe ---
mkdir -p "$CACHE/kernel/$key"
if [ ! -f "$KDIR/.mptcp-proxy-patched" ]; then
	log "extracting $src_tar ($src_ver) into $CACHE/kernel/$key"
	rm -rf "$KDIR" "$CACHE/kernel/$key/$LINUX_SOURCE_PKG"
	tar -C "$CACHE/kernel/$key" -xf "$src_tar"
	mv "$CACHE/kernel/$key/$LINUX_SOURCE_PKG" "$KDIR"
	for p in "$TOP"/scripts/kernel/patches/*.patch; do
		patch -d "$KDIR" -p1 -s --dry-run -F0 < "$p" >/dev/null 2>&1 ||
			die "patch $(basename "$p") does not apply to $LINUX_SOURCE_PKG $src_ver: the package changed; refresh the patch"
		patch -d "$KDIR" -p1 -s -F0 < "$p"
	done
	touch "$KDIR/.mptcp-proxy-patched"
fi

cd "$KDIR"
if [ ! -f .config ]; then
	log "configuring: allnoconfig + config.fragment"
	make -s ARCH=x86_64 "${KMAKE_TOOLS[@]}" allnoconfig >/dev/null
	scripts/kconfig/merge_config.sh -m .config "$TOP/scripts/kernel/config.fragment" >/dev/null
	make -s ARCH=x86_64 "${KMAKE_TOOLS[@]}" olddefconfig >/dev/null
	# Every option we asked for must have survived olddefconfig.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want=$line ;;
		"# CONFIG_"*" is not set") want=$line ;;
		*) continue ;;
		esac
		opt=${want#\# }; opt=${opt%%[= ]*}
		got=$(grep -E "^$opt=|^# $opt is not set" .config || echo "# $opt is not set")
		if [ "$got" != "$want" ]; then
			echo "config: wanted '$want', got '$got'" >&2; bad=1
		fi
	done < "$TOP/scripts/kernel/config.fragment"
	grep -qx 'CONFIG_RUST=y' .config || { rm -f .config; die "CONFIG_RUST=y did not survive olddefconfig (check RUST_IS_AVAILABLE: make rustavailable)"; }
	[ $bad = 0 ] || { mv .config .config.rejected; die "config fragment not honoured (see above; .config.rejected kept)"; }
	grep -q 'CONFIG_RUSTC_VERSION_TEXT="rustc 1.96.0' .config || die "kernel configured with the wrong rustc: $(grep RUSTC_VERSION_TEXT .config)"
fi

jobs=$(nproc)
log "building kernel in $KDIR with $jobs jobs (log: $CACHE/kernel/$key/build.log)"
start=$(date +%s)
if ! make ARCH=x86_64 "${KMAKE_TOOLS[@]}" -j"$jobs" bzImage modules > "$CACHE/kernel/$key/build.log" 2>&1; then
	tail -40 "$CACHE/kernel/$key/build.log" >&2
	die "kernel build failed (full log: $CACHE/kernel/$key/build.log)"
fi
objs=$(find . -name '*.o' | wc -l)
log "kernel built in $(( $(date +%s) - start )) s, $objs objects"
echo "$(( $(date +%s) - start )) $objs" > .mptcp-proxy-built

# Keep the two most recent trees; each is about 1-2 GB.
ls -1dt "$CACHE"/kernel/*/ 2>/dev/null | tail -n +3 | while read -r old; do
	[ "${old%/}" = "$CACHE/kernel/$key" ] || { log "pruning old kernel cache $old"; rm -rf "$old"; }
done
echo "$KDIR"
