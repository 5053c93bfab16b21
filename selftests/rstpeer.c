// SPDX-License-Identifier: GPL-2.0
/*
 * rstpeer: one end of a connection that ends with a reset, for the mptcp-proxy
 * selftests of what a reset does to the bytes before it.
 *
 * It reads the peer's bytes all along and sends its own (a deterministic stream: byte
 * i is the low byte of xorshift64 of i and the seed), and ends as told:
 *
 *   -E        first read the peer's stream to its end (a request), then send
 *   -s BYTES  send this many bytes
 *   -H        then shut down the write side (half-close)
 *   -R        then wait until the peer has acknowledged every byte (SIOCOUTQ is 0) and
 *             close with SO_LINGER 0: a reset (MPTCP: a fastclose)
 *   (no -R)   then read until the peer's end, and close
 *
 * It prints one line:
 *
 *   sent=BYTES sent_sum=HEX recv=BYTES recv_sum=HEX end=eof|reset|error:ERRNO|closed \
 *   send_errno=ERRNO
 *
 * where end is how the peer's stream ended (closed: we closed first, with -R). A reset
 * is reported once, to whichever call comes first: read(2) sees ECONNRESET, or a
 * send(2) fails (ECONNRESET, or EPIPE: sending is refused only on a connection that is
 * gone, a peer's FIN leaves it allowed) and a later read(2) sees only the end of the
 * stream (MPTCP may report a fastclose to the reader as the end of the stream when its
 * subflows close first); both count as a reset. The sums are 64-bit FNV-1a.
 *
 * Usage: rstpeer -l|-c ADDR [-6] [-m tcp|mptcp] -p PORT [-S SEED] [-T SECS] [opts]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, const unsigned char *b, size_t n)
{
	while (n--) {
		h ^= *b++;
		h *= FNV_PRIME;
	}
	return h;
}

static unsigned char stream_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return (unsigned char)(x * 0x2545f4914f6cdd1dULL >> 56);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "rstpeer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t recvd, recv_sum = FNV_OFFSET;
static int send_reset, send_errno;
static const char *end_how;
static char end_buf[32];

/* Reads what is there; sets end_how at the peer's end. Returns 0 while open. */
static int drain(int fd, int block)
{
	unsigned char buf[65536];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), block ? 0 : MSG_DONTWAIT);

		if (n > 0) {
			recv_sum = fnv(recv_sum, buf, n);
			recvd += n;
			continue;
		}
		if (n == 0) {
			end_how = "eof";
			return 1;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ECONNRESET || errno == EPIPE) {
			end_how = "reset";
		} else {
			snprintf(end_buf, sizeof(end_buf), "error:%d", errno);
			end_how = end_buf;
		}
		return 1;
	}
}

int main(int argc, char **argv)
{
	int listen_mode = 0, family = AF_INET, proto = IPPROTO_TCP, port = 0, c;
	int req_first = 0, half = 0, reset = 0, timeout = 60, fd, one = 1;
	const char *addr = NULL;
	uint64_t seed = 1, send_bytes = 0, sent = 0, sent_sum = FNV_OFFSET;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	double deadline;

	while ((c = getopt(argc, argv, "lc:6m:p:S:s:EHRT:")) != -1) {
		switch (c) {
		case 'l': listen_mode = 1; break;
		case 'c': addr = optarg; break;
		case '6': family = AF_INET6; break;
		case 'm': proto = strcmp(optarg, "mptcp") ? IPPROTO_TCP : IPPROTO_MPTCP; break;
		case 'p': port = atoi(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 's': send_bytes = strtoull(optarg, NULL, 0); break;
		case 'E': req_first = 1; break;
		case 'H': half = 1; break;
		case 'R': reset = 1; break;
		case 'T': timeout = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: see the comment at the top of rstpeer.c\n");
			return 2;
		}
	}
	if (!port || listen_mode == !!addr)
		return fprintf(stderr, "rstpeer: -l or -c ADDR, and -p PORT\n"), 2;
	deadline = now() + timeout;
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		if (addr && inet_pton(AF_INET, addr, &s->sin_addr) != 1)
			return fprintf(stderr, "rstpeer: bad address %s\n", addr), 2;
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		if (addr && inet_pton(AF_INET6, addr, &s->sin6_addr) != 1)
			return fprintf(stderr, "rstpeer: bad address %s\n", addr), 2;
		sl = sizeof(*s);
	}
	fd = socket(family, SOCK_STREAM, proto);
	if (fd < 0)
		die("socket");
	if (listen_mode) {
		int l = fd;

		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&ss, sl) || listen(l, 1))
			die("bind/listen");
		fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept");
		close(l);
	} else if (connect(fd, (struct sockaddr *)&ss, sl)) {
		die("connect");
	}

	if (req_first)
		drain(fd, 1);
	/* Send, reading the peer meanwhile so that neither side blocks the other. */
	while (sent < send_bytes && now() < deadline) {
		unsigned char buf[65536];
		size_t n = send_bytes - sent < sizeof(buf) ? send_bytes - sent : sizeof(buf);
		struct pollfd p = { .fd = fd, .events = POLLOUT | (end_how ? 0 : POLLIN) };
		ssize_t w;

		if (poll(&p, 1, 100) < 0)
			die("poll");
		if (!end_how && (p.revents & (POLLIN | POLLERR | POLLHUP)))
			drain(fd, 0);
		if (!(p.revents & POLLOUT))
			continue;
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(seed, sent + i);
		w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN)
				continue;
			send_errno = errno;
			send_reset = errno == ECONNRESET || errno == EPIPE;
			break;	/* the peer is gone: report what we have */
		}
		sent_sum = fnv(sent_sum, buf, w);
		sent += w;
	}
	if (half)
		shutdown(fd, SHUT_WR);
	if (reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		int outq = 1;

		/* Every byte acknowledged first: the reset then destroys nothing in flight. */
		while (now() < deadline && !ioctl(fd, SIOCOUTQ, &outq) && outq > 0) {
			if (!end_how)
				drain(fd, 0);
			usleep(2000);
		}
		if (!end_how)
			drain(fd, 0);
		if (!end_how)
			end_how = "closed";
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else {
		while (!end_how && now() < deadline) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 100) > 0)
				drain(fd, 0);
		}
		if (!end_how)
			end_how = "timeout";
	}
	if (send_reset && !strcmp(end_how, "eof"))
		end_how = "reset";
	printf("sent=%" PRIu64 " sent_sum=%016" PRIx64 " recv=%" PRIu64 " recv_sum=%016" PRIx64
	       " end=%s send_errno=%d\n", sent, sent_sum, recvd, recv_sum, end_how, send_errno);
	close(fd);
	return 0;
}
