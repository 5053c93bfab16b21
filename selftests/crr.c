// SPDX-License-Identifier: GPL-2.0
/*
 * crr: short connections (connect, request, response, close) and idle connections, for
 * the mptcp-proxy benchmarks.
 *
 * Server: crr -l [-6] [-m tcp|mptcp] [-p PORT] [-T SECS]
 *   Accepts connections (one poll loop, up to MAX_CONNS at once); on each, once REQ
 *   bytes have arrived it answers RESP bytes and closes. A connection that sends
 *   nothing is held open until the peer closes. Exits after -T seconds.
 *
 * Client, short connections: crr -c ADDR [-m tcp|mptcp] [-p PORT] -t SECS [-P PROCS]
 *   PROCS processes each open connections one after the other for SECS: connect, send
 *   REQ bytes, read the RESP-byte answer, close. Prints
 *     conns=N errors=N rate=CONNS_PER_S ttfb_p50_us=N ttfb_p99_us=N
 *   where the time to first byte runs from the start of connect() to the first byte of
 *   the answer.
 *
 * Client, idle connections: crr -c ADDR [-m ...] [-p PORT] -H N -t SECS
 *   Opens N connections (sending nothing), prints "held=N" once all are established
 *   and have not been refused, keeps them SECS seconds, then closes them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define REQ 100
#define RESP 1024
#define MAX_CONNS 4096
#define MAX_SAMPLES 1000000

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "crr: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: crr -l [-6] [-m tcp|mptcp] [-p PORT] [-T SECS]\n"
		"       crr -c ADDR [-m tcp|mptcp] [-p PORT] -t SECS [-P PROCS | -H CONNS]\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct opts {
	int listen, family, proto, port, procs, hold, timeout;
	double secs;
	const char *addr;
};

static int addr_of(const struct opts *o, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (o->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(o->port);
		if (o->addr && inet_pton(AF_INET6, o->addr, &s6->sin6_addr) != 1)
			return -1;
		if (!o->addr)
			s6->sin6_addr = in6addr_any;
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(o->port);
		if (o->addr && inet_pton(AF_INET, o->addr, &s4->sin_addr) != 1)
			return -1;
		if (!o->addr)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(*s4);
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit r = { MAX_CONNS + 64, MAX_CONNS + 64 };

	setrlimit(RLIMIT_NOFILE, &r);
}

static int serve(const struct opts *o)
{
	static struct pollfd pfd[MAX_CONNS + 1];
	static int got[MAX_CONNS + 1];
	static char buf[RESP];
	struct sockaddr_storage ss;
	socklen_t len;
	double end = now() + o->timeout;
	int lfd, n = 1, one = 1;

	raise_nofile();
	if (addr_of(o, &ss, &len))
		usage();
	lfd = socket(o->family, SOCK_STREAM, o->proto);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 4096))
		die("bind/listen");
	pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	memset(buf, 'r', sizeof(buf));
	while (now() < end) {
		if (poll(pfd, n, 200) < 0 && errno != EINTR)
			die("poll");
		if ((pfd[0].revents & POLLIN) && n <= MAX_CONNS) {
			int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

			if (c >= 0) {
				pfd[n] = (struct pollfd){ .fd = c, .events = POLLIN };
				got[n++] = 0;
			}
		}
		for (int i = 1; i < n; i++) {
			char in[REQ];
			ssize_t r;
			int done = 0;

			if (!pfd[i].revents)
				continue;
			r = recv(pfd[i].fd, in, sizeof(in), 0);
			if (r > 0) {
				got[i] += r;
				if (got[i] >= REQ) {
					/* RESP fits any socket buffer: one send. */
					if (send(pfd[i].fd, buf, RESP, MSG_NOSIGNAL) != RESP)
						fprintf(stderr, "crr: short answer\n");
					done = 1;
				}
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				done = 1;
			}
			if (done) {
				close(pfd[i].fd);
				pfd[i] = pfd[--n];
				got[i] = got[n];
				i--;
			}
		}
	}
	return 0;
}

static int connect_to(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(o->family, SOCK_STREAM, o->proto);

	if (fd < 0)
		die("socket");
	if (addr_of(o, &ss, &len))
		usage();
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One short connection; its time to first byte in microseconds, or -1. */
static long one_rr(const struct opts *o)
{
	static const char req[REQ];
	char buf[RESP];
	double t0 = now(), t1 = 0;
	int fd = connect_to(o), got = 0;
	long us = -1;

	if (fd < 0)
		return -1;
	if (send(fd, req, sizeof(req), MSG_NOSIGNAL) != REQ)
		goto out;
	while (got < RESP) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r <= 0)
			goto out;
		if (!got)
			t1 = now();
		got += r;
	}
	us = (long)((t1 - t0) * 1e6);
out:
	close(fd);
	return us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int run_rr(const struct opts *o)
{
	static uint32_t all[MAX_SAMPLES];
	size_t n = 0;
	long errors = 0;
	int pipes[256][2];
	double t0 = now();

	for (int p = 0; p < o->procs; p++) {
		if (pipe(pipes[p]))
			die("pipe");
		switch (fork()) {
		case -1:
			die("fork");
		case 0: {
			double end = now() + o->secs;

			close(pipes[p][0]);
			while (now() < end) {
				long us = one_rr(o);
				uint32_t v = us < 0 ? UINT32_MAX : (uint32_t)us;

				if (write(pipes[p][1], &v, sizeof(v)) != sizeof(v))
					die("write");
			}
			exit(0);
		}
		default:
			close(pipes[p][1]);
		}
	}
	for (int p = 0; p < o->procs; p++) {
		uint32_t v;

		while (read(pipes[p][0], &v, sizeof(v)) == sizeof(v)) {
			if (v == UINT32_MAX)
				errors++;
			else if (n < MAX_SAMPLES)
				all[n++] = v;
		}
		close(pipes[p][0]);
	}
	while (wait(NULL) > 0)
		;
	double secs = now() - t0;

	qsort(all, n, sizeof(all[0]), cmp_u32);
	printf("conns=%zu errors=%ld secs=%.3f rate=%.1f ttfb_p50_us=%u ttfb_p99_us=%u\n",
	       n, errors, secs, n / secs, n ? all[n / 2] : 0, n ? all[(n * 99) / 100] : 0);
	return n ? 0 : 1;
}

static int run_hold(const struct opts *o)
{
	static int fds[MAX_CONNS];
	int n = 0;

	raise_nofile();
	for (; n < o->hold && n < MAX_CONNS; n++) {
		fds[n] = connect_to(o);
		if (fds[n] < 0)
			die("connect");
	}
	/* A refused or reset connection shows as readable with an error. */
	usleep(500000);
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };

		if (poll(&p, 1, 0) > 0) {
			fprintf(stderr, "crr: connection %d closed by the peer\n", i);
			return 1;
		}
	}
	printf("held=%d\n", n);
	fflush(stdout);
	usleep((useconds_t)(o->secs * 1e6));
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .family = AF_INET, .proto = IPPROTO_MPTCP, .port = 5300, .procs = 1,
			  .timeout = 60, .secs = 5 };
	int c;

	while ((c = getopt(argc, argv, "lc:6m:p:t:P:H:T:")) != -1) {
		switch (c) {
		case 'l': o.listen = 1; break;
		case 'c': o.addr = optarg; break;
		case '6': o.family = AF_INET6; break;
		case 'm':
			if (!strcmp(optarg, "tcp"))
				o.proto = IPPROTO_TCP;
			else if (!strcmp(optarg, "mptcp"))
				o.proto = IPPROTO_MPTCP;
			else
				usage();
			break;
		case 'p': o.port = atoi(optarg); break;
		case 't': o.secs = atof(optarg); break;
		case 'P': o.procs = atoi(optarg); break;
		case 'H': o.hold = atoi(optarg); break;
		case 'T': o.timeout = atoi(optarg); break;
		default: usage();
		}
	}
	if (o.listen == !!o.addr || o.procs < 1 || o.procs > 256 || o.port <= 0)
		usage();
	if (strchr(o.addr ? o.addr : "", ':'))
		o.family = AF_INET6;
	signal(SIGPIPE, SIG_IGN);
	if (o.listen)
		return serve(&o);
	return o.hold ? run_hold(&o) : run_rr(&o);
}
