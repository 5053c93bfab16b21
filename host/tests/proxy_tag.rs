// SPDX-License-Identifier: GPL-2.0

//! Tagging a client's SYN with the proxy-target option, and the checksum arithmetic.

mod rng;

use mptcp_proxy_host::inet::addr::Addr;
use mptcp_proxy_host::inet::csum::*;
use mptcp_proxy_host::proxy::option::{parse, MptcpSyn, Target};
use mptcp_proxy_host::proxy::tag::*;
use rng::Rng;

/// A Linux SYN header: ports, seq, doff, SYN, window, then MSS, SACK-permitted +
/// timestamps, NOP + window scale, and MP_CAPABLE when `mptcp`.
fn linux_syn(mptcp: bool) -> Vec<u8> {
    let mut h = vec![
        0x9c, 0x40, 0x04, 0x38, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
    ];
    h.extend_from_slice(&[
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7,
    ]);
    if mptcp {
        h.extend_from_slice(&[30, 4, 0x01, 0x81]);
    }
    h[12] = ((h.len() / 4) as u8) << 4;
    h
}

const T4: Target = Target::V4 {
    addr: [203, 0, 113, 9],
    port: 80,
};
const T6: Target = Target::V6 {
    addr: [0x20, 1, 0xd, 0xb8, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9],
    port: 443,
};

#[test]
fn ipv4_target_keeps_every_option() {
    let syn = linux_syn(true);
    let t = tag_syn(&syn, &T4).unwrap();
    // 20-byte header + 24 bytes of SYN options + 12 of proxy-target option.
    assert_eq!(t.len, 56);
    assert!(!t.dropped_timestamps);
    let h = &t.header[..t.len];
    assert_eq!(h[..12], syn[..12]);
    assert_eq!(h[12] >> 4, (t.len / 4) as u8);
    assert_eq!(h[13..20], syn[13..20]);
    assert_eq!(h[20..44], syn[20..44]);
    let p = parse(&h[20..]).unwrap();
    assert_eq!(
        (p.target, p.mptcp, p.timestamps),
        (Some(T4), MptcpSyn::Capable, true)
    );
}

#[test]
fn ipv6_target_drops_timestamps() {
    let syn = linux_syn(true);
    let t = tag_syn(&syn, &T6).unwrap();
    assert!(t.dropped_timestamps);
    assert_eq!(t.len, 60);
    let p = parse(&t.header[20..t.len]).unwrap();
    assert_eq!(
        (p.target, p.mptcp, p.timestamps),
        (Some(T6), MptcpSyn::Capable, false)
    );
    // MSS and window scale survive.
    let o = &t.header[20..t.len];
    assert_eq!(&o[..4], &[2, 4, 0x05, 0xb4]);
    assert!(o.windows(3).any(|w| w == [3, 3, 7]));
    // Without MP_CAPABLE: 20 bytes of options + 24 = 44 > 40, so timestamps go too.
    let t = tag_syn(&linux_syn(false), &T6).unwrap();
    assert!(t.dropped_timestamps);
}

#[test]
fn refusals() {
    let syn = linux_syn(true);
    let t = tag_syn(&syn, &T4).unwrap();
    assert_eq!(
        tag_syn(&t.header[..t.len], &T4).err(),
        Some(TagError::AlreadyTagged)
    );
    let mut ack = syn.clone();
    ack[13] = 0x12;
    assert_eq!(tag_syn(&ack, &T4).err(), Some(TagError::NotPlainSyn));
    let mut data = syn.clone();
    data.extend_from_slice(b"GET");
    assert_eq!(tag_syn(&data, &T4).err(), Some(TagError::NotPlainSyn));
    let mut join = linux_syn(false);
    join.extend_from_slice(&[30, 12, 0x10, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
    join[12] = ((join.len() / 4) as u8) << 4;
    assert_eq!(tag_syn(&join, &T4).err(), Some(TagError::Join));
    // TCP Fast Open cookie (kind 34, 10 bytes) + MD5 (kind 19, 18 bytes): no room even
    // without timestamps.
    let mut full = vec![0u8; 20];
    full[13] = 0x02;
    full.extend_from_slice(&[2, 4, 5, 0xb4, 34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 19, 18]);
    full.extend_from_slice(&[0; 16]);
    full[12] = ((full.len() / 4) as u8) << 4;
    assert_eq!(tag_syn(&full, &T4).err(), Some(TagError::NoRoom));
    let mut bad = syn.clone();
    bad[20 + 1] = 40;
    assert_eq!(tag_syn(&bad, &T4).err(), Some(TagError::Malformed));
    assert_eq!(tag_syn(&syn[..10], &T4).err(), Some(TagError::Malformed));
}

#[test]
fn eol_and_trailing_padding_are_replaced() {
    let mut h = vec![0u8; 20];
    h[13] = 0x02;
    h.extend_from_slice(&[2, 4, 5, 0xb4, 0, 0, 0, 0]);
    h[12] = ((h.len() / 4) as u8) << 4;
    let t = tag_syn(&h, &T4).unwrap();
    let p = parse(&t.header[20..t.len]).unwrap();
    assert_eq!(p.target, Some(T4));
    assert_eq!(t.len, 20 + 4 + 12);
}

/// Reference checksum: sum every 16-bit word of pseudo-header and segment, plainly.
fn reference_check(s: Addr, d: Addr, seg: &[u8]) -> u16 {
    let mut bytes = Vec::new();
    match (s, d) {
        (Addr::V4(a), Addr::V4(b)) => {
            bytes.extend_from_slice(&a);
            bytes.extend_from_slice(&b);
            bytes.extend_from_slice(&[0, 6]);
            bytes.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        }
        (Addr::V6(a), Addr::V6(b)) => {
            bytes.extend_from_slice(&a);
            bytes.extend_from_slice(&b);
            bytes.extend_from_slice(&(seg.len() as u32).to_be_bytes());
            bytes.extend_from_slice(&[0, 0, 0, 6]);
        }
        _ => unreachable!(),
    }
    let mut seg = seg.to_vec();
    seg[16] = 0;
    seg[17] = 0;
    bytes.extend_from_slice(&seg);
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut sum: u64 = 0;
    for w in bytes.chunks(2) {
        sum += u16::from_be_bytes([w[0], w[1]]) as u64;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn checksums_match_a_reference() {
    let mut rng = Rng::new(77);
    for i in 0..20_000 {
        let (s, d) = if i % 2 == 0 {
            (
                Addr::V4((rng.next_u64() as u32).to_be_bytes()),
                Addr::V4((rng.next_u64() as u32).to_be_bytes()),
            )
        } else {
            let mut a = [0u8; 16];
            let mut b = [0u8; 16];
            a[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            b[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            (Addr::V6(a), Addr::V6(b))
        };
        let len = rng.range(20, 60) as usize;
        let seg: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let want = reference_check(s, d, &seg);
        assert_eq!(full_check(s, d, &seg), want);
        // A partial checksum plus the device's sum over the segment gives the same.
        let mut with_partial = seg.clone();
        let p = partial_check(s, d, len as u32);
        with_partial[16..18].copy_from_slice(&p.to_be_bytes());
        assert_eq!(!fold(sum16(&with_partial, 0)), want);
    }
}
