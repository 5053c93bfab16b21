#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the selftests (all of TEST_PROGS in the Makefile, or the ones named) with the
# timeout from ./settings, in KTAP. A test also fails if the kernel logged an oops, BUG,
# WARNING or a report of the debug kernel's checkers (KASAN, KFENCE, lockdep, UBSAN,
# debugobjects) while it ran.
cd "$(dirname "$0")" || exit 1
timeout=$(sed -n 's/^timeout=//p' settings)
if [ $# -gt 0 ]; then
	tests=("$@")
else
	read -ra tests <<< "$(sed -n 's/^TEST_PROGS *[:+]*= *//p' Makefile | tr '\n' ' ')"
fi
echo "TAP version 13"
echo "1..${#tests[@]}"
n=0 fail=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	t=${t#./}
	echo "# selftests: mptcp_proxy: $t"
	dmesg -c > /dev/null
	start=$(date +%s)
	timeout -s KILL "$timeout" bash "./$t" 2>&1 | sed -u 's/^/# /'
	rc=${PIPESTATUS[0]}
	echo "# $t took $(($(date +%s) - start)) s"
	# Oopses, warnings, and what the debug kernel's checkers report (KASAN and KFENCE
	# say "BUG:", lockdep and debugobjects "WARNING:", UBSAN its own name).
	oops=$(dmesg | grep -E 'Oops|BUG:|WARNING:|Call Trace|general protection|refcount_t:|UBSAN:|ODEBUG:|possible recursive locking|circular locking' | head -5)
	if [ -n "$oops" ]; then
		dmesg | sed 's/^/# dmesg: /' | tail -60
		rc=1
	fi
	case $rc in
	0) echo "ok $n selftests: mptcp_proxy: $t" ;;
	4) echo "ok $n selftests: mptcp_proxy: $t # SKIP" ;;
	137) echo "not ok $n selftests: mptcp_proxy: $t # TIMEOUT ${timeout} seconds"; fail=1 ;;
	*) echo "not ok $n selftests: mptcp_proxy: $t # exit=$rc"; fail=1 ;;
	esac
done
exit $fail
