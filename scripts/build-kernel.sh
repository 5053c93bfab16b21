#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the project's kernel (Debian's linux-source-6.12 + scripts/kernel/patches +
# scripts/kernel/config.fragment) into the cache, keyed by everything the build depends
# on; with --debug, the debug kernel (+ scripts/kernel/debug.fragment, clang). Prints the
# kernel directory (KDIR) on stdout. A second run with the same inputs only
# checks the stamp; an interrupted build resumes where it stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KDIR_ONLY=0 FLAVOR=normal
while [ $# -gt 0 ]; do
	case "$1" in
	--print-kdir) KDIR_ONLY=1 ;;
	--debug) FLAVOR=debug ;;
	*) die "usage: build-kernel.sh [--debug] [--print-kdir]" ;;
	esac
	shift
done

# The normal kernel: gcc, config.fragment. The debug kernel: the same plus
# debug.fragment (KASAN, lockdep, ...), built with clang, because 6.12 allows KASAN
# with Rust only in a clang-built kernel (init/Kconfig: RUST depends on !KASAN ||
# CC_IS_CLANG). Each flavour has its own cache directory.
FRAGMENTS=("$TOP/scripts/kernel/config.fragment")
KTOOLS=("${KMAKE_TOOLS[@]}")
KCACHE="$CACHE/kernel"
if [ $FLAVOR = debug ]; then
	FRAGMENTS+=("$TOP/scripts/kernel/debug.fragment")
	KTOOLS=("${KMAKE_TOOLS_LLVM[@]}")
	KCACHE="$CACHE/kernel-debug"
fi

src_tar="/usr/src/$LINUX_SOURCE_PKG.tar.xz"
[ -f "$src_tar" ] || die "$src_tar missing: run scripts/setup-toolchain.sh"
src_ver=$(dpkg-query -W -f='${Version}' "$LINUX_SOURCE_PKG")
[ "$src_ver" = "$LINUX_SOURCE_VERSION" ] ||
	log "warning: $LINUX_SOURCE_PKG is $src_ver, the project was checked with $LINUX_SOURCE_VERSION"

# The cache key: every input that changes the built tree.
key=$( {
	echo "src $LINUX_SOURCE_PKG $src_ver flavour $FLAVOR tools ${KTOOLS[*]}"
	cat "${FRAGMENTS[@]}" "$TOP"/scripts/kernel/patches/*.patch
	/usr/bin/rustc --version; "$BINDGEN" --version; gcc --version | head -1
	dpkg-query -W -f='${Version}\n' "libclang-$LLVM_MAJOR-dev" "clang-$LLVM_MAJOR"
	# the recipe below is an input too
	sed -n '/^# --- recipe ---$/,$p' "$0"
} | sha256sum | cut -c1-16)
KDIR="$KCACHE/$key/linux"

if [ $KDIR_ONLY = 1 ]; then echo "$KDIR"; exit 0; fi
if [ -f "$KDIR/.mptcp-proxy-built" ] && [ -f "$KDIR/arch/x86/boot/bzImage" ]; then
	log "kernel cached: $KDIR"
	echo "$KDIR"; exit 0
fi
need_root

# --- recipe ---
mkdir -p "$KCACHE/$key"
if [ ! -f "$KDIR/.mptcp-proxy-patched" ]; then
	log "extracting $src_tar ($src_ver) into $KCACHE/$key"
	rm -rf "$KDIR" "$KCACHE/$key/$LINUX_SOURCE_PKG"
	tar -C "$KCACHE/$key" -xf "$src_tar"
	mv "$KCACHE/$key/$LINUX_SOURCE_PKG" "$KDIR"
	for p in "$TOP"/scripts/kernel/patches/*.patch; do
		patch -d "$KDIR" -p1 -s --dry-run -F0 < "$p" >/dev/null 2>&1 ||
			die "patch $(basename "$p") does not apply to $LINUX_SOURCE_PKG $src_ver: the package changed; refresh the patch"
		patch -d "$KDIR" -p1 -s -F0 < "$p"
	done
	touch "$KDIR/.mptcp-proxy-patched"
fi

cd "$KDIR"
if [ ! -f .config ]; then
	log "configuring ($FLAVOR): allnoconfig + ${FRAGMENTS[*]##*/}"
	make -s ARCH=x86_64 "${KTOOLS[@]}" allnoconfig >/dev/null
	scripts/kconfig/merge_config.sh -m .config "${FRAGMENTS[@]}" >/dev/null
	make -s ARCH=x86_64 "${KTOOLS[@]}" olddefconfig >/dev/null
	# Every option we asked for must have survived olddefconfig (a later fragment
	# overrides an earlier one).
	declare -A wanted=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*|"# CONFIG_"*" is not set") ;;
		*) continue ;;
		esac
		opt=${line#\# }; opt=${opt%%[= ]*}
		wanted[$opt]=$line
	done < <(cat "${FRAGMENTS[@]}")
	bad=0
	for opt in "${!wanted[@]}"; do
		want=${wanted[$opt]}
		got=$(grep -E "^$opt=|^# $opt is not set" .config || echo "# $opt is not set")
		if [ "$got" != "$want" ]; then
			echo "config: wanted '$want', got '$got'" >&2; bad=1
		fi
	done
	grep -qx 'CONFIG_RUST=y' .config || { rm -f .config; die "CONFIG_RUST=y did not survive olddefconfig (check RUST_IS_AVAILABLE: make rustavailable)"; }
	[ $bad = 0 ] || { mv .config .config.rejected; die "config fragment not honoured (see above; .config.rejected kept)"; }
	grep -q 'CONFIG_RUSTC_VERSION_TEXT="rustc 1.96.0' .config || die "kernel configured with the wrong rustc: $(grep RUSTC_VERSION_TEXT .config)"
fi

jobs=$(nproc)
log "building kernel in $KDIR with $jobs jobs (log: $KCACHE/$key/build.log)"
start=$(date +%s)
if ! make ARCH=x86_64 "${KTOOLS[@]}" -j"$jobs" bzImage modules > "$KCACHE/$key/build.log" 2>&1; then
	tail -40 "$KCACHE/$key/build.log" >&2
	die "kernel build failed (full log: $KCACHE/$key/build.log)"
fi
objs=$(find . -name '*.o' | wc -l)
log "kernel built in $(( $(date +%s) - start )) s, $objs objects"
echo "$(( $(date +%s) - start )) $objs" > .mptcp-proxy-built

# Keep the two most recent trees; each is about 1-2 GB.
ls -1dt "$KCACHE"/*/ 2>/dev/null | tail -n +3 | while read -r old; do
	[ "${old%/}" = "$KCACHE/$key" ] || { log "pruning old kernel cache $old"; rm -rf "$old"; }
done
echo "$KDIR"
