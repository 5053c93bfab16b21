// SPDX-License-Identifier: GPL-2.0

//! The client side: rewriting an outgoing SYN's TCP header to carry the proxy-target
//! option.
//!
//! Pure: no kernel imports; `host/` builds this file too. The netfilter hook copies the
//! SYN's TCP header (a SYN of a Linux client carries no data) into [`tag_syn`], then writes
//! the new header back, longer, and fixes the IP length and the checksums
//! (`inet::syn::fix_headers`).
//!
//! The option goes after the SYN's own options, padded to 4 bytes. When there is no room
//! (an IPv6 target with timestamps, see `Documentation/proxy-option.rst`), the timestamps
//! option is removed, with the two NOPs that align it when present; the client's TCP then
//! sees a SYN-ACK without timestamps and runs without them. If there is still no room
//! (TCP Fast Open cookies, MD5 or AO signatures), the SYN is left alone and counted; so
//! is a SYN carrying data.

use super::option::{self, MptcpSyn, Target};
use crate::inet::addr::Family;
use crate::inet::syn::{self, NetHeader, Packet, ParsedSyn, MAX_HEADER, MAX_OPTIONS};

/// Why a SYN was not tagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagError {
    /// Not a SYN without ACK, or carries data (TCP Fast Open).
    NotPlainSyn,
    /// The header or its options are malformed.
    Malformed,
    /// It already carries a proxy-target option.
    AlreadyTagged,
    /// An MP_JOIN SYN: extra subflows never carry a target.
    Join,
    /// No room for the option, even without timestamps.
    NoRoom,
}

/// A rewritten TCP header.
#[derive(Clone, Copy, Debug)]
pub struct Tagged {
    pub header: [u8; MAX_HEADER],
    pub len: usize,
    /// The timestamps option was removed to make room.
    pub dropped_timestamps: bool,
}

/// Copies the options up to EOL, without trailing NOPs, and optionally without the
/// timestamps option and the NOPs right before it; returns the length written into
/// `out`, or `None` if the list is malformed.
fn rebuild(opts: &[u8], drop_ts: bool, out: &mut [u8; MAX_OPTIONS]) -> Option<usize> {
    let (mut i, mut n, mut nops) = (0, 0, 0);
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => {
                nops += 1;
                i += 1;
            }
            kind => {
                let len = *opts.get(i + 1)? as usize;
                if len < 2 || i + len > opts.len() {
                    return None;
                }
                if !(drop_ts && kind == 8) {
                    // Flush the NOPs that precede it, then the option.
                    let chunk = &opts[i - nops..i + len];
                    out.get_mut(n..n + chunk.len())?.copy_from_slice(chunk);
                    n += chunk.len();
                }
                nops = 0;
                i += len;
            }
        }
    }
    Some(n)
}

/// Rewrites the TCP header `tcp` of an outgoing SYN to carry `target`.
pub fn tag_syn(tcp: &[u8], target: &Target) -> Result<Tagged, TagError> {
    if tcp.len() < 20 {
        return Err(TagError::Malformed);
    }
    let doff = (tcp[12] >> 4) as usize * 4;
    if doff < 20 || doff > tcp.len() {
        return Err(TagError::Malformed);
    }
    let flags = tcp[13];
    if flags & 0x02 == 0 || flags & 0x14 != 0 || tcp.len() != doff {
        return Err(TagError::NotPlainSyn);
    }
    let opts = &tcp[20..doff];
    let parsed = option::parse(opts).map_err(|_| TagError::Malformed)?;
    if parsed.target.is_some() {
        return Err(TagError::AlreadyTagged);
    }
    if parsed.mptcp == MptcpSyn::Join {
        return Err(TagError::Join);
    }
    let mut body = [0u8; MAX_OPTIONS];
    let mut dropped = false;
    let mut n = rebuild(opts, false, &mut body).ok_or(TagError::Malformed)?;
    let need = |n: usize| ((n + 3) & !3) + target.padded_len();
    if need(n) > MAX_OPTIONS {
        if !parsed.timestamps {
            return Err(TagError::NoRoom);
        }
        n = rebuild(opts, true, &mut body).ok_or(TagError::Malformed)?;
        dropped = true;
        if need(n) > MAX_OPTIONS {
            return Err(TagError::NoRoom);
        }
    }
    let mut out = Tagged {
        header: [0; MAX_HEADER],
        len: 0,
        dropped_timestamps: dropped,
    };
    out.header[..20].copy_from_slice(&tcp[..20]);
    out.header[20..20 + n].copy_from_slice(&body[..n]);
    let mut len = 20 + n;
    while len % 4 != 0 {
        out.header[len] = 1;
        len += 1;
    }
    len += option::encode_padded(target, &mut out.header[len..]).ok_or(TagError::NoRoom)?;
    out.header[12] = ((len / 4) as u8) << 4 | (tcp[12] & 0x0f);
    out.len = len;
    Ok(out)
}

/// What to write into a SYN's packet to tag it (see [`tag_packet`]).
#[derive(Clone, Copy, Debug)]
pub struct Rewrite {
    /// The network header's changed bytes, from offset 0.
    pub net: NetHeader,
    /// Where the TCP header starts.
    pub thoff: usize,
    /// The new TCP header, checksum set; it replaces everything from `thoff` on.
    pub tcp: Tagged,
}

/// The client side's whole change to the packet `p` holding the SYN `syn`: its TCP
/// header with `target`, and the IP length and checksums that go with it (`partial`:
/// the device completes the TCP checksum).
pub fn tag_packet(
    p: &impl Packet,
    family: Family,
    syn: &ParsedSyn,
    target: &Target,
    partial: bool,
) -> Result<Rewrite, TagError> {
    // A segment longer than any header carries data: not a SYN we tag.
    let (seg, len) = syn::segment(p, syn).ok_or(TagError::NotPlainSyn)?;
    let mut tcp = tag_syn(&seg[..len], target)?;
    let mut net = syn::net_header(p, family, syn).ok_or(TagError::Malformed)?;
    syn::fix_headers(&mut net, family, syn, &mut tcp.header[..tcp.len], partial);
    Ok(Rewrite {
        net,
        thoff: syn.thoff,
        tcp,
    })
}
