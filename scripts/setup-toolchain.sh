#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the build and the tests need, from Debian's packages and crates.io
# only, then check the versions. Idempotent: a second run only checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

PKGS=(
	# kernel build
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod xz-utils rsync python3
	"rustc-web=$RUSTC_WEB_VERSION" "rust-web-src=$RUSTC_WEB_VERSION"
	# the module's linters (scripts/lint.sh), matching that rustc
	"rustfmt-web=$RUSTC_WEB_VERSION" "rust-web-clippy=$RUSTC_WEB_VERSION"
	"clang-$LLVM_MAJOR" "lld-$LLVM_MAJOR" "llvm-$LLVM_MAJOR" "libclang-$LLVM_MAJOR-dev"
	"$LINUX_SOURCE_PKG=$LINUX_SOURCE_VERSION"
	# guest userspace: shell, network tools copied into the initramfs
	qemu-system-x86 busybox-static iproute2 nftables ethtool procps
	# plots of the demo, benchmarks and experiments
	gnuplot-nox
	# the benchmarks' user-space baseline: HAProxy, made MPTCP-capable by mptcpize
	haproxy mptcpize
	# profiling in the guest (scripts/bench.sh --tests profile)
	linux-perf
)

missing=()
for p in "${PKGS[@]}"; do
	name=${p%%=*}; want=${p#*=}
	have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
	case "$have" in
	"install ok installed "*)
		[ "$want" = "$p" ] || [ "${have##* }" = "$want" ] || missing+=("$p") ;;
	*) missing+=("$p") ;;
	esac
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install failed for: ${missing[*]} (is bookworm-security in sources?)"
fi

# bindgen-cli from crates.io, pinned, installed into the cache (not into ~/.cargo).
if ! "$BINDGEN" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	command -v cargo >/dev/null || die "cargo (rustup) is needed to install bindgen-cli"
	log "installing bindgen-cli $BINDGEN_VERSION"
	LIBCLANG_PATH="/usr/lib/llvm-$LLVM_MAJOR/lib" \
		cargo install --locked --quiet --root "$CARGO_TOOLS" \
		bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli $BINDGEN_VERSION failed"
fi

# Verify: a wrong version here breaks the kernel build in obscure ways later.
/usr/bin/rustc --version | grep -q '^rustc 1\.96\.0' ||
	die "/usr/bin/rustc is not 1.96.0: $(/usr/bin/rustc --version)"
[ -d "$RUSTC_SRC_DIR/library/core" ] || die "rust library source missing in $RUSTC_SRC_DIR"
"$RUSTFMT" --version >/dev/null && "$CLIPPY_DRIVER" --version | grep -q '^clippy 0\.1\.96' ||
	die "rustfmt or clippy-driver missing or not 1.96 ($RUSTFMT, $CLIPPY_DRIVER)"
"$BINDGEN" --version | grep -qx "bindgen $BINDGEN_VERSION" || die "bindgen is not $BINDGEN_VERSION"
gcc --version | head -1 | grep -q ' 12\.' || die "gcc 12 expected: $(gcc --version | head -1)"
[ -f /usr/src/$LINUX_SOURCE_PKG.tar.xz ] || die "/usr/src/$LINUX_SOURCE_PKG.tar.xz missing"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing"
log "toolchain ok: $(/usr/bin/rustc --version), bindgen $BINDGEN_VERSION, $(gcc --version | head -1)"
