// SPDX-License-Identifier: GPL-2.0

//! The Internet checksum (RFC 1071) over IPv4 headers and TCP segments.
//!
//! Pure: no kernel imports; `host/` builds this file too.

use super::addr::Addr;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;

/// One's-complement sum of `data` as big-endian 16-bit words, added to `sum`.
pub fn sum16(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = chunks.remainder() {
        sum += (*b as u32) << 8;
    }
    sum
}

/// Folds a 32-bit one's-complement sum to 16 bits.
pub fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The TCP pseudo-header sum for a segment of `len` bytes.
pub fn pseudo_sum(saddr: Addr, daddr: Addr, len: u32) -> u32 {
    let s = sum16(daddr.bytes(), sum16(saddr.bytes(), 0));
    // The protocol, and the length (32 bits for IPv6, 16 for IPv4: same sum).
    s + IPPROTO_TCP as u32 + (len >> 16) + (len & 0xffff)
}

/// The value of the checksum field for a segment whose checksum the device (or the stack,
/// later) completes (`CHECKSUM_PARTIAL`): the folded pseudo-header sum, not inverted.
pub fn partial_check(saddr: Addr, daddr: Addr, len: u32) -> u16 {
    fold(pseudo_sum(saddr, daddr, len))
}

/// The full TCP checksum of `segment` (its checksum field, bytes 16 and 17, is ignored).
pub fn full_check(saddr: Addr, daddr: Addr, segment: &[u8]) -> u16 {
    let mut s = pseudo_sum(saddr, daddr, segment.len() as u32);
    s = sum16(&segment[..16.min(segment.len())], s);
    if segment.len() > 18 {
        s = sum16(&segment[18..], s);
    }
    !fold(s)
}

/// The checksum of an IPv4 header (its checksum field, bytes 10 and 11, is ignored).
pub fn ipv4_header_check(header: &[u8]) -> u16 {
    let mut s = sum16(&header[..10.min(header.len())], 0);
    if header.len() > 12 {
        s = sum16(&header[12..], s);
    }
    !fold(s)
}
