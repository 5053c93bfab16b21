// SPDX-License-Identifier: GPL-2.0
/*
 * xfer: a bulk transfer endpoint for the mptcp-proxy selftests.
 *
 * Both ends send a deterministic pseudo-random byte stream (xorshift64 seeded with -S)
 * while reading the peer's, then shut down their write side and read until EOF. Each end
 * prints one summary line of key=value pairs:
 *
 *   sent=BYTES sent_sum=HEX recv=BYTES recv_sum=HEX secs=SECONDS peer=ADDR:PORT
 *
 * so a test compares one end's sent_sum with the other end's recv_sum. The checksum is
 * 64-bit FNV-1a over the bytes in order. With -i each end also prints a line per
 * interval with the bytes moved since the last one:
 *
 *   tick t=SECONDS sent=BYTES recv=BYTES at=SECONDS
 *
 * t is the time since the start (CLOCK_MONOTONIC), at the same moment on the clock of
 * /proc/uptime (CLOCK_BOOTTIME), for a script that lines ticks up with its own samples.
 * A busy machine makes a tick late; it then covers the longer interval, and the next is
 * due at the following multiple of the interval, so a reader takes each tick's length
 * from t, never from -i.
 *
 * Usage:
 *   xfer -l [-6] [-m tcp|mptcp] [-p PORT] [-b ADDR] [-n CONNS] [opts]   server
 *   xfer -c ADDR [-m tcp|mptcp] [-p PORT] [-b ADDR] [opts]             client
 * opts: -s BYTES to send (default 0), -t SECS send for a duration instead,
 *       -S SEED, -C CONGESTION_ALGO, -T TIMEOUT_SECS (default 60), -i INTERVAL_MS,
 *       -q (no summary), -z (benchmarks: zeros, no checksums; the sums stay at their
 *       initial value), -w (server: after accept print the peer and exit on EOF only),
 *       -M (MPTCP: the summary also lists the connection's subflows as they are when
 *       this end has sent everything, before its shutdown(SHUT_WR), from MPTCP_TCPINFO
 *       and MPTCP_SUBFLOW_ADDRS:
 *       subflows=N sf_peer=ADDR:PORT,... sf_rx=BYTES,... sf_tx=BYTES,...; rx is
 *       tcpi_bytes_received, tx tcpi_bytes_acked, in the kernel's order of subflows;
 *       subflows=0 for a socket that is not MPTCP or fell back to TCP)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <linux/mptcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#define MAX_SUBFLOWS 8

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define BUF_SIZE (64 * 1024)

struct opts {
	const char *connect_addr;
	const char *bind_addr;
	const char *cong;
	int listen;
	int family;
	int proto;
	int port;
	int conns;
	uint64_t send_bytes;
	double send_secs;
	uint64_t seed;
	int timeout;
	int interval_ms;
	int quiet;
	int fast;
	int subflows;
};

struct stream {
	uint64_t state;		/* xorshift64 state */
	uint64_t word;		/* current output word */
	unsigned int left;	/* bytes of word not yet used */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "xfer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: xfer -l|-c ADDR [-6] [-m tcp|mptcp] [-p PORT] [-b ADDR] [-n CONNS]\n"
		"            [-s BYTES] [-t SECS] [-S SEED] [-C ALGO] [-T TIMEOUT] [-i MS] [-q] [-z] [-M]\n");
	exit(2);
}

static void stream_fill(struct stream *s, unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!s->left) {
			s->state ^= s->state << 13;
			s->state ^= s->state >> 7;
			s->state ^= s->state << 17;
			s->word = s->state;
			s->left = 8;
		}
		buf[i] = s->word & 0xff;
		s->word >>= 8;
		s->left--;
	}
}

static uint64_t fnv(uint64_t h, const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= buf[i];
		h *= FNV_PRIME;
	}
	return h;
}

static int parse_addr(const char *str, int port, int family,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, str ? str : "::", &sin6->sin6_addr) == 1 ? 0 : -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	*len = sizeof(*sin);
	return inet_pton(AF_INET, str ? str : "0.0.0.0", &sin->sin_addr) == 1 ? 0 : -1;
}

static void format_peer(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
		}
	}
	snprintf(out, outlen, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

static void format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	snprintf(out, outlen, sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

/*
 * The subflows of an MPTCP connection: " subflows=N sf_peer=... sf_rx=... sf_tx=..." in
 * out, or " subflows=0" if the socket is not MPTCP or the kernel says nothing.
 */
static void format_subflows(int fd, char *out, size_t outlen)
{
	struct {
		struct mptcp_subflow_data d;
		struct tcp_info ti[MAX_SUBFLOWS];
	} info;
	const struct tcp_info *ti;
	struct {
		struct mptcp_subflow_data d;
		struct mptcp_subflow_addrs a[MAX_SUBFLOWS];
	} addrs;
	socklen_t len = sizeof(info), alen = sizeof(addrs);
	char peers[MAX_SUBFLOWS * 56] = "", rx[MAX_SUBFLOWS * 24] = "", tx[MAX_SUBFLOWS * 24] = "";
	unsigned int n, i;

	memset(&info, 0, sizeof(info));
	info.d.size_subflow_data = sizeof(info.d);
	info.d.size_user = sizeof(info.ti[0]);
	memset(&addrs, 0, sizeof(addrs));
	addrs.d.size_subflow_data = sizeof(addrs.d);
	addrs.d.size_user = sizeof(addrs.a[0]);
	if (getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO, &info, &len) ||
	    getsockopt(fd, SOL_MPTCP, MPTCP_SUBFLOW_ADDRS, &addrs, &alen)) {
		snprintf(out, outlen, " subflows=0");
		return;
	}
	/* The kernel copies min(size_user, its own size) bytes per subflow: step by that. */
	if (info.d.size_user < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(uint64_t) ||
	    len < sizeof(info.d)) {
		snprintf(out, outlen, " subflows=0");
		return;
	}
	n = (len - sizeof(info.d)) / info.d.size_user;
	if (n > info.d.num_subflows)
		n = info.d.num_subflows;
	if (addrs.d.num_subflows < n)
		n = addrs.d.num_subflows;
	for (i = 0; i < n; i++) {
		char peer[56];

		format_addr(&addrs.a[i].sa_remote, peer, sizeof(peer));
		snprintf(peers + strlen(peers), sizeof(peers) - strlen(peers), "%s%s", i ? "," : "", peer);
		ti = (const struct tcp_info *)((const char *)info.ti + i * info.d.size_user);
		snprintf(rx + strlen(rx), sizeof(rx) - strlen(rx), "%s%" PRIu64, i ? "," : "",
			 (uint64_t)ti->tcpi_bytes_received);
		snprintf(tx + strlen(tx), sizeof(tx) - strlen(tx), "%s%" PRIu64, i ? "," : "",
			 (uint64_t)ti->tcpi_bytes_acked);
	}
	snprintf(out, outlen, " subflows=%u sf_peer=%s sf_rx=%s sf_tx=%s", n, peers, rx, tx);
}

static int new_socket(const struct opts *o)
{
	int fd = socket(o->family, SOCK_STREAM, o->proto);

	if (fd < 0)
		die(o->proto == IPPROTO_MPTCP ? "socket(IPPROTO_MPTCP)" : "socket");
	if (o->cong && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o->cong, strlen(o->cong)))
		die("setsockopt(TCP_CONGESTION)");
	return fd;
}

/* Move data both ways on a connected socket until both directions are done. */
static int relay(const struct opts *o, int fd)
{
	static unsigned char out[BUF_SIZE], in[BUF_SIZE];
	struct stream st = { .state = o->seed ? o->seed : 0x9e3779b97f4a7c15ULL };
	uint64_t sent = 0, recvd = 0, sent_sum = FNV_OFFSET, recv_sum = FNV_OFFSET;
	uint64_t last_sent = 0, last_recv = 0;
	size_t out_len = 0, out_off = 0;
	double start = now(), deadline = start + o->timeout, next_tick;
	int wr_done = 0, rd_done = 0;
	char peer[80], sf[MAX_SUBFLOWS * 110] = "";

	format_peer(fd, peer, sizeof(peer));
	next_tick = start + o->interval_ms / 1000.0;
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		die("fcntl");

	while (!wr_done || !rd_done) {
		struct pollfd pfd = { .fd = fd, .events = 0 };
		double t = now();
		int n;

		if (t > deadline) {
			fprintf(stderr, "xfer: timeout after %d s (sent %" PRIu64 ", received %" PRIu64 ")\n",
				o->timeout, sent, recvd);
			return 1;
		}
		if (o->interval_ms && t >= next_tick) {
			printf("tick t=%.3f sent=%" PRIu64 " recv=%" PRIu64 " at=%.3f\n", t - start,
			       sent - last_sent, recvd - last_recv, uptime());
			fflush(stdout);
			last_sent = sent;
			last_recv = recvd;
			/* a late tick is not followed by a burst of short ones */
			while (next_tick <= t)
				next_tick += o->interval_ms / 1000.0;
		}
		if (!wr_done) {
			int more = o->send_secs > 0 ? t - start < o->send_secs : sent < o->send_bytes;

			/*
			 * A side with nothing to send keeps its write side open until the
			 * peer is done: an MPTCP connection that is half closed accepts no
			 * new subflows, so an early DATA_FIN would keep a second path idle.
			 */
			int silent = o->send_secs <= 0 && o->send_bytes == 0;

			if (!more && out_off == out_len && (!silent || rd_done)) {
				/* Before the DATA_FIN: after both, MPTCP closes subflows. */
				if (o->subflows && !o->quiet)
					format_subflows(fd, sf, sizeof(sf));
				if (shutdown(fd, SHUT_WR))
					die("shutdown");
				wr_done = 1;
			} else if (more || out_off != out_len) {
				pfd.events |= POLLOUT;
			}
		}
		if (!rd_done)
			pfd.events |= POLLIN;
		n = poll(&pfd, 1, 100);
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0)
			continue;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, in, sizeof(in), 0);

			if (r > 0) {
				if (!o->fast)
					recv_sum = fnv(recv_sum, in, r);
				recvd += r;
			} else if (r == 0) {
				rd_done = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "xfer: recv: %s (after %" PRIu64 " bytes)\n",
					strerror(errno), recvd);
				return 1;
			}
		}
		if (!wr_done && (pfd.revents & POLLOUT)) {
			ssize_t w;

			if (out_off == out_len) {
				uint64_t want = sizeof(out);

				if (o->send_secs <= 0 && o->send_bytes - sent < want)
					want = o->send_bytes - sent;
				if (!o->fast)
					stream_fill(&st, out, want);
				out_len = want;
				out_off = 0;
			}
			w = send(fd, out + out_off, out_len - out_off, MSG_NOSIGNAL);
			if (w > 0) {
				if (!o->fast)
					sent_sum = fnv(sent_sum, out + out_off, w);
				sent += w;
				out_off += w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "xfer: send: %s (after %" PRIu64 " bytes)\n",
					strerror(errno), sent);
				return 1;
			}
		}
	}
	if (!o->quiet) {
		printf("sent=%" PRIu64 " sent_sum=%016" PRIx64 " recv=%" PRIu64
		       " recv_sum=%016" PRIx64 " secs=%.3f peer=%s%s\n",
		       sent, sent_sum, recvd, recv_sum, now() - start, peer, sf);
	}
	fflush(stdout);
	return 0;
}

static int run_server(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = new_socket(o), one = 1, rc = 0;

	if (parse_addr(o->bind_addr, o->port, o->family, &ss, &len))
		usage();
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len))
		die("bind");
	if (listen(fd, 1024))
		die("listen");
	signal(SIGCHLD, SIG_DFL);
	for (int i = 0; i < o->conns; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int c;

		/* A client that never comes must not hang the test. */
		if (poll(&pfd, 1, o->timeout * 1000) == 0) {
			fprintf(stderr, "xfer: no connection within %d s\n", o->timeout);
			exit(1);
		}
		c = accept(fd, NULL, NULL);
		if (c < 0)
			die("accept");
		if (o->conns == 1) {
			/* The listener stays open: MPTCP joins of this connection arrive on it. */
			rc = relay(o, c);
			close(c);
			close(fd);
			return rc;
		}
		/* Several connections: one child each, so they run concurrently. */
		switch (fork()) {
		case -1:
			die("fork");
		case 0:
			close(fd);
			exit(relay(o, c));
		default:
			close(c);
		}
	}
	/* Kept open until every connection is done, for the joins of their subflows. */
	for (int st; wait(&st) > 0;)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	close(fd);
	return rc;
}

static int run_client(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = new_socket(o), rc;

	if (o->bind_addr) {
		if (parse_addr(o->bind_addr, 0, o->family, &ss, &len))
			usage();
		if (bind(fd, (struct sockaddr *)&ss, len))
			die("bind");
	}
	if (parse_addr(o->connect_addr, o->port, o->family, &ss, &len))
		usage();
	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect");
	rc = relay(o, fd);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.family = AF_INET, .proto = IPPROTO_MPTCP, .port = 5201, .conns = 1,
		.timeout = 60,
	};
	int c;

	while ((c = getopt(argc, argv, "lc:6m:p:b:n:s:t:S:C:T:i:qzM")) != -1) {
		switch (c) {
		case 'l': o.listen = 1; break;
		case 'c': o.connect_addr = optarg; break;
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
		case 'b': o.bind_addr = optarg; break;
		case 'n': o.conns = atoi(optarg); break;
		case 's': o.send_bytes = strtoull(optarg, NULL, 0); break;
		case 't': o.send_secs = atof(optarg); break;
		case 'S': o.seed = strtoull(optarg, NULL, 0); break;
		case 'C': o.cong = optarg; break;
		case 'T': o.timeout = atoi(optarg); break;
		case 'i': o.interval_ms = atoi(optarg); break;
		case 'q': o.quiet = 1; break;
		case 'z': o.fast = 1; break;
		case 'M': o.subflows = 1; break;
		default: usage();
		}
	}
	if (o.listen == !!o.connect_addr || o.conns < 1)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	return o.listen ? run_server(&o) : run_client(&o);
}
