// SPDX-License-Identifier: GPL-2.0

//! TCP SYNs in IP packets: finding one, reading its addresses, ports and options, and
//! fixing the IP header and the TCP checksum after its TCP header was replaced.
//!
//! Pure: no kernel imports; `host/` builds this file too. A packet is read through the
//! [`Packet`] trait, which `sys/` implements over a socket buffer and the host tests
//! over plain bytes.

use super::addr::{Addr, Family};
use super::csum::{self, IPPROTO_TCP};

/// Most bytes of options a TCP header can carry.
pub const MAX_OPTIONS: usize = 40;
/// Longest TCP header.
pub const MAX_HEADER: usize = 20 + MAX_OPTIONS;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER: usize = 40;
/// Longest IPv4 header.
pub const IPV4_MAX_HEADER: usize = 60;

/// TCP flags.
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Read access to an IP packet, starting at its network header.
pub trait Packet {
    /// Length of the packet from the network header on.
    fn packet_len(&self) -> usize;
    /// Copies `buf.len()` bytes at offset `off`; `false` if the packet is shorter.
    fn read(&self, off: usize, buf: &mut [u8]) -> bool;
    /// For an IPv6 packet: the offset and protocol number of the header after the
    /// extension headers; `None` for a malformed header chain or any fragment (more
    /// fragments to come, or an offset), as for IPv4.
    fn ipv6_transport(&self) -> Option<(usize, u8)>;
}

/// What the decisions on a SYN see of it.
#[derive(Clone, Copy, Debug)]
pub struct Syn<'a> {
    pub saddr: Addr,
    pub daddr: Addr,
    pub sport: u16,
    pub dport: u16,
    /// The TCP option bytes (after the fixed header).
    pub options: &'a [u8],
}

/// A SYN found in a packet, with its options copied out.
#[derive(Clone, Copy, Debug)]
pub struct ParsedSyn {
    pub saddr: Addr,
    pub daddr: Addr,
    pub sport: u16,
    pub dport: u16,
    /// Offset of the TCP header in the packet.
    pub thoff: usize,
    opts: [u8; MAX_OPTIONS],
    olen: usize,
}

impl ParsedSyn {
    /// The view the decisions take.
    pub fn syn(&self) -> Syn<'_> {
        Syn {
            saddr: self.saddr,
            daddr: self.daddr,
            sport: self.sport,
            dport: self.dport,
            options: &self.opts[..self.olen],
        }
    }
}

fn read<const N: usize>(p: &impl Packet, off: usize) -> Option<[u8; N]> {
    let mut b = [0u8; N];
    p.read(off, &mut b).then_some(b)
}

/// Finds a TCP SYN without ACK or RST in `p`: `None` for anything else (other protocols,
/// fragments, other segments, truncated or malformed headers).
pub fn parse_syn(p: &impl Packet, family: Family) -> Option<ParsedSyn> {
    let (saddr, daddr, thoff) = match family {
        Family::V4 => {
            let ip: [u8; 20] = read(p, 0)?;
            let ihl = ((ip[0] & 0xf) as usize) * 4;
            let frag = u16::from_be_bytes([ip[6], ip[7]]);
            // Not TCP, a bad header length, or a fragment (MF set or an offset).
            if ip[9] != IPPROTO_TCP || ihl < 20 || frag & 0x3fff != 0 {
                return None;
            }
            let s = Addr::V4([ip[12], ip[13], ip[14], ip[15]]);
            let d = Addr::V4([ip[16], ip[17], ip[18], ip[19]]);
            (s, d, ihl)
        }
        Family::V6 => {
            let ip: [u8; IPV6_HEADER] = read(p, 0)?;
            let (off, proto) = p.ipv6_transport()?;
            if proto != IPPROTO_TCP {
                return None;
            }
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            d.copy_from_slice(&ip[24..40]);
            (Addr::V6(s), Addr::V6(d), off)
        }
    };
    let th: [u8; 20] = read(p, thoff)?;
    let flags = th[13];
    if flags & SYN == 0 || flags & (ACK | RST) != 0 {
        return None;
    }
    let doff = ((th[12] >> 4) as usize) * 4;
    if doff < 20 {
        return None;
    }
    let olen = doff - 20;
    let mut opts = [0u8; MAX_OPTIONS];
    if !p.read(thoff + 20, &mut opts[..olen]) {
        return None;
    }
    Some(ParsedSyn {
        saddr,
        daddr,
        sport: u16::from_be_bytes([th[0], th[1]]),
        dport: u16::from_be_bytes([th[2], th[3]]),
        thoff,
        opts,
        olen,
    })
}

/// The whole TCP segment of a SYN that carries no more than a header (no data, or too
/// little to matter: the caller checks): `None` if it is longer than [`MAX_HEADER`].
pub fn segment(p: &impl Packet, syn: &ParsedSyn) -> Option<([u8; MAX_HEADER], usize)> {
    let len = p.packet_len().checked_sub(syn.thoff)?;
    if len > MAX_HEADER {
        return None;
    }
    let mut seg = [0u8; MAX_HEADER];
    p.read(syn.thoff, &mut seg[..len]).then_some((seg, len))
}

/// The network header of a packet whose TCP segment is being replaced: the bytes that
/// change (IPv4: the whole header, for its checksum; IPv6: the fixed header).
#[derive(Clone, Copy, Debug)]
pub struct NetHeader {
    pub bytes: [u8; IPV4_MAX_HEADER],
    pub len: usize,
}

/// Reads the part of the network header of `syn`'s packet that [`fix_headers`] changes.
pub fn net_header(p: &impl Packet, family: Family, syn: &ParsedSyn) -> Option<NetHeader> {
    let len = match family {
        Family::V4 => syn.thoff,
        Family::V6 => IPV6_HEADER,
    };
    let mut h = NetHeader {
        bytes: [0; IPV4_MAX_HEADER],
        len,
    };
    (len <= IPV4_MAX_HEADER && p.read(0, &mut h.bytes[..len])).then_some(h)
}

/// After `syn`'s TCP segment was replaced by `seg`: sets the IP length (and the IPv4
/// header checksum) in `net`, and the TCP checksum in `seg`, in full or, when the
/// device completes it (`partial`), as the pseudo-header sum.
pub fn fix_headers(
    net: &mut NetHeader,
    family: Family,
    syn: &ParsedSyn,
    seg: &mut [u8],
    partial: bool,
) {
    let h = &mut net.bytes[..net.len];
    match family {
        Family::V4 => {
            let tot = (syn.thoff + seg.len()) as u16;
            h[2..4].copy_from_slice(&tot.to_be_bytes());
            let check = csum::ipv4_header_check(h);
            h[10..12].copy_from_slice(&check.to_be_bytes());
        }
        Family::V6 => {
            // Everything after the fixed header, extension headers included.
            let payload = (syn.thoff + seg.len() - IPV6_HEADER) as u16;
            h[4..6].copy_from_slice(&payload.to_be_bytes());
        }
    }
    let check = if partial {
        csum::partial_check(syn.saddr, syn.daddr, seg.len() as u32)
    } else {
        csum::full_check(syn.saddr, syn.daddr, seg)
    };
    seg[16..18].copy_from_slice(&check.to_be_bytes());
}
