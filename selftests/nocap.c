// SPDX-License-Identifier: GPL-2.0
/*
 * nocap: run a command without CAP_NET_ADMIN (still uid 0): for the selftests of what
 * needs the host administrator's privilege.
 *
 * Usage: nocap COMMAND [ARGS...]
 */
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int i;

	if (argc < 2)
		return fprintf(stderr, "usage: nocap COMMAND [ARGS...]\n"), 2;
	if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0))
		return perror("nocap: PR_CAPBSET_DROP"), 2;
	if (syscall(SYS_capget, &h, d))
		return perror("nocap: capget"), 2;
	for (i = 0; i < 2; i++) {
		unsigned int bit = CAP_NET_ADMIN / 32 == i ? 1u << (CAP_NET_ADMIN % 32) : 0;

		d[i].effective &= ~bit;
		d[i].permitted &= ~bit;
		d[i].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &h, d))
		return perror("nocap: capset"), 2;
	execvp(argv[1], argv + 1);
	perror("nocap: exec");
	return 127;
}
