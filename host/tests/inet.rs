// SPDX-License-Identifier: GPL-2.0

//! `rust/inet/`: numbers as text, the IPv4 header checksum, finding a SYN in a packet and
//! fixing the headers after its TCP header grew.

use mptcp_proxy_host::inet::addr::{Addr, Family};
use mptcp_proxy_host::inet::csum::{fold, ipv4_header_check, sum16};
use mptcp_proxy_host::inet::num::{dec, number};
use mptcp_proxy_host::inet::syn::*;
use mptcp_proxy_host::proxy::option::{parse, Target};
use mptcp_proxy_host::proxy::tag::{tag_packet, tag_syn};

/// A packet as plain bytes from its network header on. IPv6 extension headers are
/// walked here for the test's own packets: hop-by-hop, routing and destination options
/// (8-octet units), and fragment headers (8 bytes).
struct Bytes(Vec<u8>);

impl Packet for Bytes {
    fn packet_len(&self) -> usize {
        self.0.len()
    }

    fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        match self.0.get(off..off + buf.len()) {
            Some(b) => {
                buf.copy_from_slice(b);
                true
            }
            None => false,
        }
    }

    fn ipv6_transport(&self) -> Option<(usize, u8)> {
        let (mut next, mut off) = (*self.0.get(6)?, 40);
        loop {
            match next {
                0 | 43 | 60 => {
                    let len = (*self.0.get(off + 1)? as usize + 1) * 8;
                    next = *self.0.get(off)?;
                    off += len;
                }
                44 => {
                    let frag = u16::from_be_bytes([*self.0.get(off + 2)?, *self.0.get(off + 3)?]);
                    // Offset and M flag, as ipv6_skip_exthdr() reports them.
                    if frag & !6 != 0 {
                        return None;
                    }
                    next = *self.0.get(off)?;
                    off += 8;
                }
                p => return Some((off, p)),
            }
        }
    }
}

const S4: [u8; 4] = [192, 0, 2, 1];
const D4: [u8; 4] = [198, 51, 100, 7];
const S6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const D6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// A Linux-like SYN's TCP header: MSS, SACK-permitted, timestamps, window scale.
fn syn_header(flags: u8) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&40000u16.to_be_bytes());
    h[2..4].copy_from_slice(&443u16.to_be_bytes());
    h[13] = flags;
    h.extend_from_slice(&[
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ]);
    h[12] = ((h.len() / 4) as u8) << 4;
    h
}

fn ipv4(tcp: &[u8], frag: u16, proto: u8) -> Bytes {
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0];
    p[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
    p[6..8].copy_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&S4);
    p.extend_from_slice(&D4);
    let c = ipv4_header_check(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(tcp);
    Bytes(p)
}

/// IPv6 with `ext` (already chained, the first header's protocol in `first`).
fn ipv6(tcp: &[u8], first: u8, ext: &[u8]) -> Bytes {
    let mut p = vec![0x60, 0, 0, 0, 0, 0, first, 64];
    p[4..6].copy_from_slice(&((ext.len() + tcp.len()) as u16).to_be_bytes());
    p.extend_from_slice(&S6);
    p.extend_from_slice(&D6);
    p.extend_from_slice(ext);
    p.extend_from_slice(tcp);
    Bytes(p)
}

#[test]
fn numbers() {
    assert_eq!(dec("0"), Some(0));
    assert_eq!(dec("4294967295"), Some(u32::MAX));
    assert_eq!(number("0x1f"), Some(31));
    assert_eq!(number("0XFFFFFFFF"), Some(u32::MAX));
    assert_eq!(number("80"), Some(80));
    for bad in [
        "",
        " 1",
        "1 ",
        "+1",
        "-1",
        "1.0",
        "4294967296",
        "99999999999",
        "0x",
        "0x+1",
        "0x100000000",
        "0xg",
        "1e3",
    ] {
        assert_eq!(number(bad), None, "{bad:?}");
    }
    assert_eq!(dec("0x10"), None);
}

#[test]
fn ipv4_header_checksum_verifies() {
    let p = ipv4(&syn_header(0x02), 0, 6);
    // A correct header sums to all ones, its checksum field included.
    assert_eq!(fold(sum16(&p.0[..20], 0)), 0xffff);
}

#[test]
fn finds_syns_and_nothing_else() {
    let tcp = syn_header(0x02);
    let p = parse_syn(&ipv4(&tcp, 0, 6), Family::V4).unwrap();
    assert_eq!(
        (p.saddr, p.daddr, p.sport, p.dport, p.thoff),
        (Addr::V4(S4), Addr::V4(D4), 40000, 443, 20)
    );
    assert_eq!(p.syn().options, &tcp[20..]);
    // SYN-ACK, RST, a plain ACK, another protocol, fragments: not SYNs we look at.
    for flags in [0x12, 0x06, 0x10, 0x14] {
        assert!(
            parse_syn(&ipv4(&syn_header(flags), 0, 6), Family::V4).is_none(),
            "{flags:#x}"
        );
    }
    assert!(parse_syn(&ipv4(&tcp, 0, 17), Family::V4).is_none());
    assert!(
        parse_syn(&ipv4(&tcp, 0x2000, 6), Family::V4).is_none(),
        "first fragment (MF)"
    );
    assert!(
        parse_syn(&ipv4(&tcp, 0x0010, 6), Family::V4).is_none(),
        "later fragment"
    );
    // Truncated: the options the header announces are not all there.
    let mut short = ipv4(&tcp, 0, 6);
    short.0.truncate(20 + 30);
    assert!(parse_syn(&short, Family::V4).is_none());
    // A data offset below the fixed header.
    let mut bad = tcp.clone();
    bad[12] = 4 << 4;
    assert!(parse_syn(&ipv4(&bad, 0, 6), Family::V4).is_none());
    // A bad IPv4 header length.
    let mut ihl = ipv4(&tcp, 0, 6);
    ihl.0[0] = 0x44;
    assert!(parse_syn(&ihl, Family::V4).is_none());
}

#[test]
fn finds_syns_behind_ipv6_extension_headers() {
    let tcp = syn_header(0x02);
    let p = parse_syn(&ipv6(&tcp, 6, &[]), Family::V6).unwrap();
    assert_eq!(
        (p.saddr, p.daddr, p.thoff),
        (Addr::V6(S6), Addr::V6(D6), 40)
    );
    // Hop-by-hop (8 bytes: PadN) then TCP.
    let hbh = [6, 0, 1, 4, 0, 0, 0, 0];
    let p = parse_syn(&ipv6(&tcp, 0, &hbh), Family::V6).unwrap();
    assert_eq!(p.thoff, 48);
    assert_eq!(p.syn().options, &tcp[20..]);
    // Fragments are not looked at: a later one, and a first one (M set).
    let frag = [6, 0, 0x05, 0x00, 0, 0, 0, 1];
    assert!(parse_syn(&ipv6(&tcp, 44, &frag), Family::V6).is_none());
    let first = [6, 0, 0x00, 0x01, 0, 0, 0, 1];
    assert!(parse_syn(&ipv6(&tcp, 44, &first), Family::V6).is_none());
    // An atomic fragment (no offset, no M) is a whole packet.
    let atomic = [6, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(
        parse_syn(&ipv6(&tcp, 44, &atomic), Family::V6)
            .unwrap()
            .thoff,
        48
    );
}

/// Applies the proxy client side's rewrite (`tag_packet`, as the netfilter hook does)
/// to `pkt`, on plain bytes: the changed network header bytes at 0, the new TCP header
/// from `thoff` on.
fn tag_bytes(pkt: &Bytes, family: Family, target: &Target, partial: bool) -> Vec<u8> {
    let p = parse_syn(pkt, family).unwrap();
    let rw = tag_packet(pkt, family, &p, target, partial).unwrap();
    assert_eq!(rw.thoff, p.thoff);
    let mut out = pkt.0[..rw.thoff].to_vec();
    out[..rw.net.len].copy_from_slice(&rw.net.bytes[..rw.net.len]);
    out.extend_from_slice(&rw.tcp.header[..rw.tcp.len]);
    out
}

/// The sum a receiver checks: pseudo-header plus segment, all ones when correct.
fn tcp_sum(s: Addr, d: Addr, seg: &[u8]) -> u16 {
    let mut x = 0;
    for a in [s, d] {
        x = sum16(a.bytes(), x);
    }
    x += 6 + seg.len() as u32;
    fold(sum16(seg, x))
}

#[test]
fn headers_are_fixed_after_tagging() {
    let target = Target::V4 {
        addr: [203, 0, 113, 5],
        port: 8080,
    };
    let pkt = ipv4(&syn_header(0x02), 0, 6);
    let out = tag_bytes(&pkt, Family::V4, &target, false);
    assert_eq!(u16::from_be_bytes([out[2], out[3]]) as usize, out.len());
    assert_eq!(fold(sum16(&out[..20], 0)), 0xffff, "IPv4 header checksum");
    assert_eq!(
        tcp_sum(Addr::V4(S4), Addr::V4(D4), &out[20..]),
        0xffff,
        "TCP checksum"
    );
    assert_eq!(parse(&out[40..]).unwrap().target, Some(target));
    // Partial: the field holds the folded pseudo-header sum for the device to finish.
    let out = tag_bytes(&pkt, Family::V4, &target, true);
    let mut seg = out[20..].to_vec();
    let field = u16::from_be_bytes([seg[16], seg[17]]);
    seg[16..18].copy_from_slice(&[0, 0]);
    let pseudo = fold(sum16(&D4, sum16(&S4, 0)) + 6 + seg.len() as u32);
    assert_eq!(field, pseudo);

    // IPv6 behind a hop-by-hop header: payload length counts the extension header.
    let t6 = Target::V6 {
        addr: D6,
        port: 443,
    };
    let hbh = [6, 0, 1, 4, 0, 0, 0, 0];
    let pkt = ipv6(&syn_header(0x02), 0, &hbh);
    let out = tag_bytes(&pkt, Family::V6, &t6, false);
    assert_eq!(
        u16::from_be_bytes([out[4], out[5]]) as usize,
        out.len() - 40
    );
    assert_eq!(tcp_sum(Addr::V6(S6), Addr::V6(D6), &out[48..]), 0xffff);
    assert_eq!(parse(&out[68..]).unwrap().target, Some(t6));

    // IPv4 with options (a 24-byte header): the whole header's checksum is fixed, the
    // options are kept.
    let mut pkt = ipv4(&syn_header(0x02), 0, 6);
    pkt.0[0] = 0x46;
    pkt.0.splice(20..20, [1, 1, 1, 0]); // NOP NOP NOP EOL
    let tot = pkt.0.len() as u16;
    pkt.0[2..4].copy_from_slice(&tot.to_be_bytes());
    let out = tag_bytes(&pkt, Family::V4, &target, false);
    assert_eq!(&out[20..24], &[1, 1, 1, 0]);
    assert_eq!(u16::from_be_bytes([out[2], out[3]]) as usize, out.len());
    assert_eq!(
        fold(sum16(&out[..24], 0)),
        0xffff,
        "IPv4 header checksum with options"
    );
    assert_eq!(tcp_sum(Addr::V4(S4), Addr::V4(D4), &out[24..]), 0xffff);
}

#[test]
fn longest_header_is_a_segment() {
    // 60 bytes of header: still a header; 61 bytes: data.
    let mut tcp = syn_header(0x02);
    tcp.resize(60, 1); // NOPs up to the longest header
    tcp[12] = 15 << 4;
    let pkt = ipv4(&tcp, 0, 6);
    let p = parse_syn(&pkt, Family::V4).unwrap();
    assert_eq!(segment(&pkt, &p).map(|(_, n)| n), Some(60));
    let mut more = tcp.clone();
    more.push(0);
    let pkt = ipv4(&more, 0, 6);
    let p = parse_syn(&pkt, Family::V4).unwrap();
    assert!(segment(&pkt, &p).is_none());
}

#[test]
fn segments_with_data_are_not_headers() {
    let mut tcp = syn_header(0x02);
    let doff = tcp.len();
    tcp.extend_from_slice(&[0u8; 41]); // TCP Fast Open data beyond any header length
    let pkt = ipv4(&tcp, 0, 6);
    let p = parse_syn(&pkt, Family::V4).unwrap();
    assert!(segment(&pkt, &p).is_none());
    // A little data fits the buffer; tagging then refuses it.
    let mut tcp = syn_header(0x02);
    tcp.extend_from_slice(&[1, 2, 3]);
    let pkt = ipv4(&tcp, 0, 6);
    let p = parse_syn(&pkt, Family::V4).unwrap();
    let (seg, len) = segment(&pkt, &p).unwrap();
    assert_eq!(len, doff + 3);
    assert!(tag_syn(&seg[..len], &Target::V4 { addr: D4, port: 1 }).is_err());
}

/// Text forms of RFC 5952 (section 4): each case printed, and read back to the same
/// address.
#[test]
fn addr_text_form() {
    use mptcp_proxy_host::inet::addr::{parse_addr, Endpoint};
    let cases = [
        ("10.0.1.1", "10.0.1.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:DB8::1", "2001:db8::1"),
        // One zero group is not compressed.
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        // The longest run wins; of equal runs, the first.
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("fe80:0:0:0:0:0:0:0", "fe80::"),
        ("0:0:1:0:0:0:0:0", "0:0:1::"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        (
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ),
    ];
    for (input, want) in cases {
        let a = parse_addr(input).unwrap_or_else(|| panic!("{input}"));
        let text = format!("{a}");
        assert_eq!(text, want, "{input}");
        assert_eq!(parse_addr(&text), Some(a), "{input} read back");
    }
    let v4 = parse_addr("10.0.3.2").unwrap();
    let v6 = parse_addr("2001:db8:3::2").unwrap();
    let mapped = parse_addr("::ffff:10.0.3.2").unwrap();
    assert_eq!(format!("{}", Endpoint(v4, 80)), "10.0.3.2:80");
    assert_eq!(format!("{}", Endpoint(v6, 443)), "[2001:db8:3::2]:443");
    // A mapped address is the IPv4 peer of a dual-stack socket.
    assert_eq!(format!("{}", Endpoint(mapped, 1)), "10.0.3.2:1");
}
