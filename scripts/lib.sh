# SPDX-License-Identifier: GPL-2.0
# Shared settings for the project's scripts: pinned versions, the cache location and
# small helpers. Sourced, never run.

# Pinned toolchain. The kernel's Rust support is built with Debian's rustc-web and its
# library source, which must be the same version; bindgen comes from crates.io because
# Debian's (0.60) is too old for the 6.12 kernel.
RUSTC_WEB_VERSION="1.96.0+dfsg1-1~deb12u2"
RUSTC_SRC_DIR="/usr/src/rustc-1.96.0"
BINDGEN_VERSION="0.69.5"
LINUX_SOURCE_PKG="linux-source-6.12"
LINUX_SOURCE_VERSION="6.12.117-1~deb12u1"
LLVM_MAJOR=14

TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Everything expensive lives outside the clone so a fresh clone reuses it.
CACHE="${MPTCP_PROXY_CACHE:-/var/cache/mptcp-proxy}"
CARGO_TOOLS="$CACHE/tools"          # cargo install --root for bindgen-cli
BINDGEN="$CARGO_TOOLS/bin/bindgen"

# The module built for the debug kernel (scripts/build-all.sh --debug), outside the
# clone: a copy of rust/ and Kbuild built with clang against the debug tree.
DEBUG_MODULE_DIR="$CACHE/module-debug"

# The module's linters, Debian's builds matching that rustc (the rustup ones on PATH do
# not): scripts/lint.sh.
RUSTFMT=/usr/bin/rustfmt
CLIPPY_DRIVER=/usr/bin/clippy-driver

# The kernel's make must see Debian's rustc, never the rustup one on PATH (no rust-src).
KMAKE_TOOLS=(CC=gcc HOSTCC=gcc RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc
	RUSTDOC=/usr/bin/rustdoc BINDGEN="$BINDGEN")
# The debug kernel (and modules for it) is built with Debian's clang/lld 14
# (clang-14, ld.lld-14, llvm-ar-14, ...).
KMAKE_TOOLS_LLVM=(LLVM=-$LLVM_MAJOR RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc
	RUSTDOC=/usr/bin/rustdoc BINDGEN="$BINDGEN")

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (installs packages, uses namespaces)"; }
