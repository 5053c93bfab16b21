// SPDX-License-Identifier: GPL-2.0
/*
 * synraw: send one hand-made TCP SYN from a raw socket and report the answer.
 *
 *   synraw [-F FLAGS] [-n COUNT] [-R SEED] [-P SPORT] [-A MS] SRC DST DPORT [OPTIONS_HEX]
 *
 * -F FLAGS: the TCP flags in hex (default 02, SYN); -n COUNT: send COUNT segments, each
 * from another source port (consecutive, from a random one), and print "sent COUNT"
 * without waiting for answers (a flood); -R SEED: each segment's options are random bytes of a random length (up to
 * 40, a multiple of 4) instead of OPTIONS_HEX; -P SPORT: this source port; -A MS: after
 * a SYN-ACK, wait MS milliseconds and complete the handshake with an ACK (the caller
 * keeps its own kernel from resetting the SYN-ACK meanwhile), then print
 * "established".
 *
 * SRC and DST are IPv4 or IPv6 addresses (same family). OPTIONS_HEX is the TCP option
 * bytes in hex (e.g. "020405b4fd0b4d50..."), padded here with NOPs to a multiple of 4;
 * it may be up to 40 bytes. The source port is random. Prints one word: "synack" (the
 * SYN was let through to a listener), "rst" (refused with a reset) or "none" (no answer
 * within a second), and exits 0 for any of them, 1 on errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "synraw: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (p[i] << 8) | p[i + 1];
	if (len & 1)
		s += p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage src = { 0 }, dst = { 0 };
	uint8_t seg[60] = { 0 }, opts[40], pseudo[40] = { 0 }, buf[2048];
	size_t olen = 0, alen, hlen;
	int family, fd, sport = 20000, dport;
	socklen_t slen;
	uint32_t s;

	unsigned int flags = 0x02, count = 0, seed = 0, random_opts = 0, fixed_sport = 0;
	int ack_ms = -1;
	int c;

	while ((c = getopt(argc, argv, "F:n:R:P:A:")) != -1) {
		switch (c) {
		case 'F': flags = strtoul(optarg, NULL, 16); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'R': seed = strtoul(optarg, NULL, 0); random_opts = 1; break;
		case 'P': fixed_sport = strtoul(optarg, NULL, 0); break;
		case 'A': ack_ms = atoi(optarg); break;
		default: return 1;
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: synraw [-F FLAGS] [-n COUNT] [-R SEED] SRC DST DPORT [OPTIONS_HEX]\n");
		return 1;
	}
	family = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&src, *b = (void *)&dst;

		a->sin_family = b->sin_family = AF_INET;
		if (inet_pton(AF_INET, argv[1], &a->sin_addr) != 1 ||
		    inet_pton(AF_INET, argv[2], &b->sin_addr) != 1)
			return fprintf(stderr, "synraw: bad address\n"), 1;
		alen = 4;
		slen = sizeof(*a);
		memcpy(pseudo, &a->sin_addr, 4);
		memcpy(pseudo + 4, &b->sin_addr, 4);
	} else {
		struct sockaddr_in6 *a = (void *)&src, *b = (void *)&dst;

		a->sin6_family = b->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, argv[1], &a->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, argv[2], &b->sin6_addr) != 1)
			return fprintf(stderr, "synraw: bad address\n"), 1;
		alen = 16;
		slen = sizeof(*a);
		memcpy(pseudo, &a->sin6_addr, 16);
		memcpy(pseudo + 16, &b->sin6_addr, 16);
	}
	dport = atoi(argv[3]);
	if (argc == 5) {
		const char *h = argv[4];

		if (strlen(h) % 2 || strlen(h) / 2 > sizeof(opts))
			return fprintf(stderr, "synraw: bad options\n"), 1;
		for (; *h; h += 2) {
			unsigned int v;

			if (sscanf(h, "%2x", &v) != 1)
				return fprintf(stderr, "synraw: bad options\n"), 1;
			opts[olen++] = v;
		}
	}
	while (olen % 4)
		opts[olen++] = 1; /* NOP */
	if (olen > 40)
		return fprintf(stderr, "synraw: options too long\n"), 1;

	fd = socket(family, SOCK_RAW, IPPROTO_TCP);
	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&src, slen))
		die("bind");
	srand(random_opts ? seed : (unsigned int)(time(NULL) ^ getpid()));
	for (unsigned int i = 0; i < (count ? count : 1); i++) {
		if (random_opts) {
			olen = 4 * (rand() % 11);
			for (size_t j = 0; j < olen; j++)
				opts[j] = rand();
		}
		/* A flood takes consecutive ports from a random start: no 4-tuple twice. */
		if (fixed_sport)
			sport = fixed_sport;
		else if (count && i)
			sport = 20000 + (sport - 20000 + 1) % 40000;
		else
			sport = 20000 + rand() % 40000;
		hlen = 20 + olen;
		memset(seg, 0, sizeof(seg));
		seg[0] = sport >> 8;
		seg[1] = sport & 0xff;
		seg[2] = dport >> 8;
		seg[3] = dport & 0xff;
		s = rand();
		memcpy(seg + 4, &s, 4);		/* sequence */
		if (flags & 0x10) {
			s = rand();
			memcpy(seg + 8, &s, 4);	/* acknowledgment */
		}
		seg[12] = (hlen / 4) << 4;	/* data offset */
		seg[13] = flags;
		seg[14] = 0xff;			/* window */
		seg[15] = 0xff;
		memcpy(seg + 20, opts, olen);

		/* Checksum over the pseudo-header (addresses, protocol, length) and the segment. */
		s = sum16(pseudo, 2 * alen, 0);
		s += 6 + hlen;
		s = sum16(seg, hlen, s);
		s = fold(s);
		seg[16] = s >> 8;
		seg[17] = s & 0xff;
		if (sendto(fd, seg, hlen, 0, (struct sockaddr *)&dst, slen) != (ssize_t)hlen)
			die("sendto");
	}
	if (count) {
		printf("sent %u\n", count);
		return 0;
	}

	/* The raw socket sees every TCP segment to this host: wait for the answer. */
	for (int waited = 0; waited < 1000;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		uint8_t *th;

		if (poll(&p, 1, 100) <= 0) {
			waited += 100;
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			die("recv");
		/* IPv4 raw sockets deliver the IP header, IPv6 ones do not. */
		th = buf;
		if (family == AF_INET) {
			if (n < 20)
				continue;
			th = buf + (buf[0] & 0xf) * 4;
			n -= th - buf;
		}
		if (n < 20)
			continue;
		if (((th[0] << 8) | th[1]) != dport || ((th[2] << 8) | th[3]) != sport)
			continue;
		if (th[13] & 0x04) {
			puts("rst");
			return 0;
		}
		if ((th[13] & 0x12) == 0x12 && ack_ms >= 0) {
			uint32_t their = (th[4] << 24) | (th[5] << 16) | (th[6] << 8) | th[7];
			uint32_t ours;

			memcpy(&ours, seg + 4, 4);
			ours = htonl(ntohl(ours) + 1);
			their = htonl(their + 1);
			usleep(ack_ms * 1000);
			/* The ACK: no options, our next sequence number, theirs + 1. */
			hlen = 20;
			memcpy(seg + 4, &ours, 4);
			memcpy(seg + 8, &their, 4);
			seg[12] = 5 << 4;
			seg[13] = 0x10;
			seg[16] = seg[17] = 0;
			s = sum16(pseudo, 2 * alen, 0);
			s += 6 + hlen;
			s = fold(sum16(seg, hlen, s));
			seg[16] = s >> 8;
			seg[17] = s & 0xff;
			if (sendto(fd, seg, hlen, 0, (struct sockaddr *)&dst, slen) != (ssize_t)hlen)
				die("sendto");
			puts("established");
			return 0;
		}
		if ((th[13] & 0x12) == 0x12) {
			puts("synack");
			return 0;
		}
	}
	puts("none");
	return 0;
}
