// SPDX-License-Identifier: GPL-2.0

//! The proxy-target option codec: known vectors, every malformed form, and a randomized
//! run of a million inputs (never a panic; accepts exactly the valid encodings).

mod rng;

use mptcp_proxy_host::inet::syn::MAX_OPTIONS;
use mptcp_proxy_host::proxy::option::*;
use rng::Rng;

const V4: Target = Target::V4 {
    addr: [192, 0, 2, 7],
    port: 443,
};
const V6: Target = Target::V6 {
    addr: [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42,
    ],
    port: 8080,
};

fn enc(t: &Target) -> Vec<u8> {
    let mut b = [0u8; 40];
    let n = encode(t, &mut b).unwrap();
    b[..n].to_vec()
}

/// A realistic SYN option list: MSS, SACK-permitted + timestamps, window scale, and
/// MP_CAPABLE (v1, 4 bytes), then `extra`.
fn syn_with(extra: &[u8]) -> Vec<u8> {
    let mut v = vec![
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 30, 4, 0x01, 0x81,
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn known_encodings() {
    assert_eq!(
        enc(&V4),
        [253, 11, 0x4d, 0x50, 0x14, 0x01, 0xbb, 192, 0, 2, 7]
    );
    let v6 = enc(&V6);
    assert_eq!(v6.len(), 23);
    assert_eq!(&v6[..7], &[253, 23, 0x4d, 0x50, 0x16, 0x1f, 0x90]);
    let mut b = [0u8; 12];
    assert_eq!(encode_padded(&V4, &mut b), Some(12));
    assert_eq!(b[11], 1);
    assert_eq!((V4.padded_len(), V6.padded_len()), (12, 24));
    assert_eq!(encode(&V6, &mut [0u8; 22]), None);
}

#[test]
fn fits_in_a_syn() {
    // 24 bytes of usual SYN options + 12 = 36 <= 40 for IPv4.
    let mut s = syn_with(&[]);
    let mut b = [0u8; 12];
    encode_padded(&V4, &mut b).unwrap();
    s.extend_from_slice(&b);
    assert!(s.len() <= MAX_OPTIONS);
    let p = parse(&s).unwrap();
    assert_eq!(
        (p.target, p.mptcp, p.timestamps),
        (Some(V4), MptcpSyn::Capable, true)
    );
    // IPv6 needs the 10 bytes of timestamps (and their 2 NOPs): MSS 4 + SACK-permitted
    // with 2 NOPs 4 + window scale 4 + MP_CAPABLE 4 + 24 = 40.
    let mut s = vec![2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7, 30, 4, 0x01, 0x81];
    let mut b = [0u8; 24];
    encode_padded(&V6, &mut b).unwrap();
    s.extend_from_slice(&b);
    assert_eq!(s.len(), MAX_OPTIONS);
    let p = parse(&s).unwrap();
    assert_eq!((p.target, p.timestamps), (Some(V6), false));
}

#[test]
fn both_experimental_kinds() {
    let mut o = enc(&V4);
    o[0] = KIND_EXP2;
    assert_eq!(parse(&o).unwrap().target, Some(V4));
}

#[test]
fn other_experiments_are_ignored() {
    // Another ExID in kind 253 (e.g. TCP Fast Open's old 0xf989), and a 2-byte kind 254.
    let s = [253, 4, 0xf9, 0x89, 254, 2, 1, 1];
    assert_eq!(parse(&s).unwrap(), SynOptions::default());
}

#[test]
fn mptcp_subtypes() {
    assert_eq!(
        parse(&[30, 12, 0x10, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])
            .unwrap()
            .mptcp,
        MptcpSyn::Join
    );
    assert_eq!(
        parse(&[30, 4, 0x01, 0x81]).unwrap().mptcp,
        MptcpSyn::Capable
    );
    assert_eq!(parse(&[30, 4, 0x51, 0x00]).unwrap().mptcp, MptcpSyn::Other);
}

#[test]
fn malformed_forms_are_refused() {
    let v4 = enc(&V4);
    // Truncated: the option claims more bytes than the list has.
    assert_eq!(parse(&v4[..9]), Err(ParseError::BadOptionList));
    // Wrong lengths (the list itself is consistent).
    for len in [5usize, 10, 12, 22, 24] {
        let mut o = vec![0u8; len];
        o[..4].copy_from_slice(&[253, len as u8, 0x4d, 0x50]);
        o[4] = 0x14;
        if len > 6 {
            o[6] = 1;
        }
        assert_eq!(parse(&o), Err(ParseError::BadLength), "len {len}");
    }
    // Version 2, version 0.
    for ver in [0x24u8, 0x04] {
        let mut o = v4.clone();
        o[4] = ver;
        assert_eq!(parse(&o), Err(ParseError::BadVersion));
    }
    // Unknown family, and a family that does not match the length.
    for fam in [0x15u8, 0x10, 0x16] {
        let mut o = v4.clone();
        o[4] = fam;
        assert_eq!(parse(&o), Err(ParseError::BadFamily));
    }
    let mut o = enc(&V6);
    o[4] = 0x14;
    assert_eq!(parse(&o), Err(ParseError::BadFamily));
    // Port 0.
    let mut o = v4.clone();
    o[5] = 0;
    o[6] = 0;
    assert_eq!(parse(&o), Err(ParseError::ZeroPort));
    // Twice, even if identical, or once in each experimental kind.
    let mut twice = v4.clone();
    twice.extend_from_slice(&v4);
    assert_eq!(parse(&twice), Err(ParseError::Duplicate));
    let mut o2 = v4.clone();
    o2[0] = KIND_EXP2;
    let mut both = v4.clone();
    both.extend_from_slice(&o2);
    assert_eq!(parse(&both), Err(ParseError::Duplicate));
    // Option lengths 0 and 1, and a kind byte with no length byte.
    assert_eq!(parse(&[8, 0]), Err(ParseError::BadOptionList));
    assert_eq!(parse(&[8, 1, 0, 0]), Err(ParseError::BadOptionList));
    assert_eq!(parse(&[1, 1, 8]), Err(ParseError::BadOptionList));
}

#[test]
fn end_of_list_stops_parsing() {
    let mut s = vec![1, 0];
    s.extend_from_slice(&enc(&V4));
    assert_eq!(parse(&s).unwrap().target, None);
}

fn random_target(rng: &mut Rng) -> Target {
    let port = rng.range(1, 65535) as u16;
    if rng.next_u64() & 1 == 0 {
        Target::V4 {
            addr: (rng.next_u64() as u32).to_be_bytes(),
            port,
        }
    } else {
        let mut addr = [0u8; 16];
        addr[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
        addr[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
        Target::V6 { addr, port }
    }
}

#[test]
fn round_trip() {
    let mut rng = Rng::new(41);
    for _ in 0..100_000 {
        let t = random_target(&mut rng);
        assert_eq!(parse(&enc(&t)).unwrap().target, Some(t));
        let mut s = syn_with(&[]);
        let mut b = [0u8; 24];
        let n = encode_padded(&t, &mut b).unwrap();
        s.extend_from_slice(&b[..n]);
        assert_eq!(parse(&s).unwrap().target, Some(t));
    }
}

/// The reference acceptance rule, written independently of the parser: an option list
/// is accepted with a target exactly when it is well formed, holds exactly one option
/// of kind 253/254 with our ExID, and that option is the encoding of a target.
fn reference(opts: &[u8]) -> Option<Option<Target>> {
    let mut i = 0;
    let mut found: Option<Target> = None;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            _ => {
                let len = *opts.get(i + 1)? as usize;
                if len < 2 || i + len > opts.len() {
                    return None;
                }
                let o = &opts[i..i + len];
                if (o[0] == 253 || o[0] == 254) && len >= 4 && o[2] == 0x4d && o[3] == 0x50 {
                    if found.is_some() {
                        return None;
                    }
                    // Try both families: exactly one encoding must match byte for byte.
                    let port = if len >= 7 {
                        u16::from_be_bytes([o[5], o[6]])
                    } else {
                        0
                    };
                    let cand = match len {
                        11 => {
                            let mut a = [0; 4];
                            a.copy_from_slice(&o[7..11]);
                            Target::V4 { addr: a, port }
                        }
                        23 => {
                            let mut a = [0; 16];
                            a.copy_from_slice(&o[7..23]);
                            Target::V6 { addr: a, port }
                        }
                        _ => return None,
                    };
                    // Either experimental kind; everything after the kind byte must match.
                    if port == 0 || enc(&cand)[1..] != o[1..] {
                        return None;
                    }
                    found = Some(cand);
                }
                i += len;
            }
        }
    }
    Some(found)
}

#[test]
fn a_million_random_option_lists() {
    // Random bytes, and mutations of valid SYNs (more likely to get near the edges).
    let mut rng = Rng::new(0xfeed);
    let mut accepted = 0;
    for n in 0..1_000_000u32 {
        let mut buf = if n % 2 == 0 {
            let len = rng.range(0, MAX_OPTIONS as u64) as usize;
            (0..len).map(|_| rng.next_u64() as u8).collect::<Vec<u8>>()
        } else {
            let t = random_target(&mut rng);
            let mut b = [0u8; 24];
            let k = encode_padded(&t, &mut b).unwrap();
            let mut s = syn_with(&b[..k]);
            s.truncate(MAX_OPTIONS);
            for _ in 0..rng.range(1, 3) {
                let i = rng.range(0, s.len() as u64 - 1) as usize;
                s[i] = match rng.range(0, 3) {
                    0 => rng.next_u64() as u8,
                    1 => s[i] ^ (1 << rng.range(0, 7)),
                    2 => 253,
                    _ => 0,
                };
            }
            s
        };
        if n % 7 == 0 {
            let cut = rng.range(0, buf.len() as u64) as usize;
            buf.truncate(cut);
        }
        let got = parse(&buf).ok().map(|p| p.target);
        assert_eq!(got, reference(&buf), "input {buf:02x?}");
        if matches!(got, Some(Some(_))) {
            accepted += 1;
        }
    }
    println!("{accepted} of 1000000 random option lists carried a valid target");
    assert!(accepted > 10_000);
}
