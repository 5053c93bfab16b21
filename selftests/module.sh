#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mptcp_proxy.ko loads, shows up with its metadata, unloads, and CYCLES (50) load/unload
# cycles leave nothing for kmemleak to find.
. "$(dirname "$0")/lib.sh"

CYCLES=${CYCLES:-50}

mp_init
mp_require_root
[ -f "$MP_MODULE" ] || mp_skip_all "module $MP_MODULE not found"
lsmod | grep -q '^mptcp_proxy ' && rmmod mptcp_proxy

info=$(modinfo "$MP_MODULE")
mp_info "$(echo "$info" | tr '\n' ' ')"
ok=1
for key in name description license version; do
	if ! echo "$info" | grep -qE "^$key: +[^ ]"; then
		mp_info "modinfo lacks '$key'"; ok=0
	fi
done
echo "$info" | grep -qE '^name: +mptcp_proxy$' || ok=0
mp_check "modinfo shows name, description, license, version" test $ok = 1

mp_check "insmod" insmod "$MP_MODULE"
mp_check "module listed in /proc/modules and /sys/module" \
	eval 'grep -q "^mptcp_proxy " /proc/modules && [ -d /sys/module/mptcp_proxy ]'
mp_check "rmmod" rmmod mptcp_proxy
mp_check "module gone after rmmod" eval '! grep -q "^mptcp_proxy " /proc/modules && [ ! -d /sys/module/mptcp_proxy ]'

if mp_kmemleak_available; then
	mp_kmemleak_clear
	fails=0
	for i in $(seq "$CYCLES"); do
		insmod "$MP_MODULE" || fails=$((fails + 1))
		rmmod mptcp_proxy || fails=$((fails + 1))
	done
	mp_check "$CYCLES load/unload cycles all succeed ($fails failures)" test $fails = 0
	leaks=$(mp_kmemleak_count)
	[ "$leaks" = 0 ] || sed 's/^/# /' /sys/kernel/debug/kmemleak | head -60
	mp_check "kmemleak finds no leak after $CYCLES cycles ($leaks objects)" test "$leaks" = 0
else
	mp_result $KSFT_SKIP "kmemleak not available (CONFIG_DEBUG_KMEMLEAK, debugfs)"
fi
mp_exit
