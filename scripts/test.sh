#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's test command: set up everything, run the source checks (rustfmt, clippy:
# scripts/lint.sh), the host tests (cargo test) and the kselftests in QEMU, and end with
# one line "N passed, N failed[, N skipped]" that counts all three. Exits non-zero if
# anything failed.
#
#   scripts/test.sh [SELFTEST...]     (default: every TEST_PROGS of selftests/Makefile)
#
# The functional kselftests (DEBUG_TESTS: all but the throughput-ratio ones, which a
# debug kernel distorts, and the test bed's own check) run a second time on the debug kernel (KASAN, lockdep, ...;
# scripts/kernel/debug.fragment), counted as "debug: NAME"; a splat fails the test that
# caused it. MP_DEBUG=0 skips that pass. MP_STRICT=1 (the default here) counts a skipped
# selftest as a failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_root
t0=$(date +%s)
# testbed.sh is not among them: it checks the test bed (upstream MPTCP over two shaped
# paths), with nothing of the module loaded.
DEBUG_TESTS=(module.sh lia_select.sh proxy_syn.sh proxy_client.sh proxy_relay.sh
	proxy_reset.sh proxy_sysctl.sh proxy_hostile.sh proxy_limits.sh)
debug=${MP_DEBUG:-1}
if [ "$debug" = 1 ] && [ $# -gt 0 ]; then
	# Only the named tests that are functional.
	mapfile -t DEBUG_TESTS < <(printf '%s\n' "$@" | grep -xF -f <(printf '%s\n' "${DEBUG_TESTS[@]}"))
	[ ${#DEBUG_TESTS[@]} -gt 0 ] || debug=0
fi
if [ "$debug" = 1 ]; then
	"$TOP/scripts/build-all.sh" --debug > /dev/null || die "set-up failed"
else
	"$TOP/scripts/build-all.sh" > /dev/null || die "set-up failed"
fi
t1=$(date +%s)
log "set-up took $((t1 - t0)) s"

pass=0 fail=0 skip=0 failed=()

log "source checks: rustfmt, clippy"
while read -r line; do
	echo "$line"
	case $line in
	"ok - "*) pass=$((pass + 1)) ;;
	"not ok - "*) fail=$((fail + 1)); failed+=("lint: ${line#not ok - }") ;;
	esac
done < <("$TOP/scripts/lint.sh" 2>&1)

log "host tests: cargo test"
host_log=$(mktemp)
(cd "$TOP/host" && cargo test --color never 2>&1) | tee "$host_log"
host_rc=${PIPESTATUS[0]}
while read -r p f i; do
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + i))
done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$host_log")
grep -o '^test .* FAILED$' "$host_log" | while read -r _ name _; do echo "host: $name"; done > "$host_log.failed"
mapfile -t -O ${#failed[@]} failed < "$host_log.failed"
if [ "$host_rc" != 0 ] && [ ${#failed[@]} = 0 ]; then
	fail=$((fail + 1)); failed+=("host: cargo test exited $host_rc (build error?)")
fi
t2=$(date +%s)

# run_kselftests LABEL QEMU_ARGS... -- TESTS...: one guest running the tests; adds to
# the counts, names failures "LABEL: ..."
run_kselftests() {
	local label=$1; shift
	local qargs=() kt_log p s qrc planned ran last missing line
	while [ "$1" != -- ]; do qargs+=("$1"); shift; done
	shift
	kt_log=$(mktemp)
	"$TOP/scripts/qemu-run.sh" "${qargs[@]}" -- \
		env MP_STRICT="${MP_STRICT:-1}" "${KSELFTEST_ENV[@]}" ./run_tests.sh "$@" | tee "$kt_log"
	qrc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok [0-9]+ selftests: .*' "$kt_log" | head -1)
	s=$(grep -cE '^ok [0-9]+ selftests: .*# SKIP' "$kt_log")
	pass=$((pass + p - s)); skip=$((skip + s))
	# Each failed test with the checks inside it that failed (the tail of a CI log
	# may show only the test's last lines).
	while read -r line; do
		case $line in
		"not ok "*) fail=$((fail + 1)); failed+=("$label: ${line#not ok }") ;;
		*) failed+=("  ${line#\# }") ;;
		esac
	done < <(awk '/^# not ok [0-9]+ - / { sub_[n++] = $0; next }
		/^(not )?ok [0-9]+ selftests: / {
			if ($1 == "not") { print; for (i = 0; i < n; i++) print sub_[i] }
			n = 0 }' "$kt_log")
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$kt_log" | head -1)
	ran=$(grep -cE '^(not )?ok [0-9]+ selftests: ' "$kt_log")
	if [ -z "$planned" ] || [ "$ran" -lt "$planned" ]; then
		last=$(grep '^# selftests: ' "$kt_log" | tail -1)
		missing=$(( ${planned:-1} - ran ))
		fail=$((fail + missing))
		failed+=("$label: $missing test(s) did not report (guest exit $qrc; last started: ${last#\# selftests: })")
	fi
	rm -f "$kt_log"
}

KSELFTEST_ENV=()
log "kselftests in QEMU"
run_kselftests kselftest --timeout "${MP_QEMU_TIMEOUT:-2400}" -- "$@"
t3=$(date +%s)
if [ "$debug" = 1 ]; then
	log "functional kselftests on the debug kernel"
	# Smaller loads, a longer idle timeout: the same checks at the debug kernel's pace.
	KSELFTEST_ENV=(CYCLES=10 LIA_SELECT_SECS=40 NCONN=50 RELAY_MIB=8 BUDGET_X=3 PATH_CHECK=0 RESET_SLACK_MS=4000 IDLE_S=5 NRANDOM=500 NFLOOD=500)
	run_kselftests debug --debug --timeout "${MP_QEMU_TIMEOUT:-2400}" -- "${DEBUG_TESTS[@]}"
fi
t4=$(date +%s)
rm -f "$host_log" "$host_log.failed"

echo
log "times: set-up $((t1 - t0)) s, host tests $((t2 - t1)) s, kselftests $((t3 - t2)) s, debug kernel $((t4 - t3)) s"
# (The checks that failed inside a test follow its line, indented, not as FAILED lines
# of their own: one FAILED line per failure counted.)
for f in "${failed[@]}"; do
	case $f in
	"  "*) echo "$f" ;;
	*) echo "FAILED: $f" ;;
	esac
done
summary="$pass passed, $fail failed"
[ "$skip" = 0 ] || summary="$summary, $skip skipped"
echo "$summary"
[ "$fail" = 0 ]
