#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The module's source checks, each one line "ok - NAME" or "not ok - NAME" (with what
# failed above it):
#   rustfmt       every file of the module, with the kernel's .rustfmt.toml
#   clippy-module the module built with the kernel's clippy set-up (make CLIPPY=1): no
#                 warning from clippy or rustc
#   clippy-host   the host crate (cargo clippy --all-targets), no warning
# Exits non-zero if any failed. `scripts/lint.sh --fix` rewrites the files with rustfmt
# instead of checking them.
#
# Debian's rustfmt-web and rust-web-clippy match the kernel's rustc (scripts/lib.sh);
# the host crate uses the rustup toolchain's clippy.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

KDIR=${KDIR:-$("$TOP/scripts/build-kernel.sh" --print-kdir)}
[ -f "$KDIR/.rustfmt.toml" ] || die "no kernel tree in $KDIR: run scripts/build-kernel.sh"
fail=0
result() { if [ "$2" = 0 ]; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

# rustfmt follows `mod` declarations from the crate root to every file of the module.
if [ "${1:-}" = "--fix" ]; then
	"$RUSTFMT" --config-path "$KDIR/.rustfmt.toml" "$TOP/rust/mptcp_proxy.rs"
	exit
fi
"$RUSTFMT" --config-path "$KDIR/.rustfmt.toml" --check "$TOP/rust/mptcp_proxy.rs"
result rustfmt $?

# clippy-driver also compiles, so this is a full build of the module; touching the
# crate root makes kbuild rebuild it even if it is up to date.
out=$(mktemp)
touch "$TOP/rust/mptcp_proxy.rs"
make -C "$TOP" modules KDIR="$KDIR" CLIPPY=1 CLIPPY_DRIVER="$CLIPPY_DRIVER" > "$out" 2>&1
rc=$?
# objtool's warnings count too: a fall-through into the next function (a panic objtool
# does not know as noreturn, e.g. an integer division's) breaks the ORC unwinder.
if [ $rc != 0 ] || grep -qE '^(warning|error)(\[|:)|: warning: objtool:' "$out"; then
	grep -vE '^make|^  (RUSTC|CLIPPY|LD|MODPOST|CC|BTF) ' "$out"
	rc=1
fi
result clippy-module $rc

(cd "$TOP/host" && cargo clippy --quiet --all-targets --color never -- -D warnings) > "$out" 2>&1
rc=$?
[ $rc = 0 ] || cat "$out"
result clippy-host $rc
rm -f "$out"
exit $fail
