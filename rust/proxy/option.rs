// SPDX-License-Identifier: GPL-2.0

//! The proxy-target TCP option: encoding, and parsing of a SYN's option list.
//!
//! Pure: no kernel imports; `host/` builds this file too, tests it and fuzzes it.
//! The wire format is specified in `Documentation/proxy-option.rst`:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------+---------------+-------------------------------+
//! |  Kind = 253   |    Length     |         ExID = 0x4d50         |
//! +-------+-------+---------------+-------------------------------+
//! |  Ver  |  Fam  |          Port (network order)  |   Address... |
//! +-------+-------+--------------------------------+              +
//! |  ... (4 bytes for Fam = 4, 16 bytes for Fam = 6)              |
//! +---------------------------------------------------------------+
//! ```
//!
//! `Length` is 11 for IPv4 and 23 for IPv6; `Ver` is 1.

use crate::inet::addr::Addr;

/// TCP option kind of RFC 6994 experimental options (the first of the two).
pub const KIND_EXP1: u8 = 253;
/// The second experimental kind; RFC 6994 allows either, so both are recognised.
pub const KIND_EXP2: u8 = 254;
/// The experiment identifier of the proxy-target option ("MP").
pub const EXID: u16 = 0x4d50;
/// The only version this implementation speaks.
pub const VERSION: u8 = 1;
/// Family nibble of an IPv4 target.
pub const FAMILY_V4: u8 = 4;
/// Family nibble of an IPv6 target.
pub const FAMILY_V6: u8 = 6;
/// Option length with an IPv4 target.
pub const LEN_V4: usize = 11;
/// Option length with an IPv6 target.
pub const LEN_V6: usize = 23;
/// TCP option kind of MPTCP (RFC 8684).
pub const KIND_MPTCP: u8 = 30;

/// Where the proxy connects: an address and a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// IPv4 address (network order bytes) and port.
    V4 { addr: [u8; 4], port: u16 },
    /// IPv6 address (network order bytes) and port.
    V6 { addr: [u8; 16], port: u16 },
}

impl Target {
    /// The address.
    pub fn addr(&self) -> Addr {
        match *self {
            Target::V4 { addr, .. } => Addr::V4(addr),
            Target::V6 { addr, .. } => Addr::V6(addr),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        match *self {
            Target::V4 { port, .. } | Target::V6 { port, .. } => port,
        }
    }

    /// Length of the encoded option.
    pub fn option_len(&self) -> usize {
        match self {
            Target::V4 { .. } => LEN_V4,
            Target::V6 { .. } => LEN_V6,
        }
    }

    /// Length of the encoded option padded to a multiple of 4 with NOPs.
    pub fn padded_len(&self) -> usize {
        (self.option_len() + 3) & !3
    }
}

/// Why an option list was refused. Each is a counter on the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// An option's length runs past the end of the list, or is below 2.
    BadOptionList,
    /// The proxy-target option has a length that matches no family.
    BadLength,
    /// The version is not [`VERSION`].
    BadVersion,
    /// The family is neither 4 nor 6, or does not match the length.
    BadFamily,
    /// Port 0.
    ZeroPort,
    /// The proxy-target option appears more than once.
    Duplicate,
}

/// What MPTCP option a SYN carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MptcpSyn {
    /// No MPTCP option.
    #[default]
    None,
    /// MP_CAPABLE: the first subflow of a new connection.
    Capable,
    /// MP_JOIN: an extra subflow of an existing connection.
    Join,
    /// Another MPTCP subtype.
    Other,
}

/// The options of a SYN that matter to the proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynOptions {
    /// The proxy-target option, if present (and well formed).
    pub target: Option<Target>,
    /// The MPTCP option, if any.
    pub mptcp: MptcpSyn,
    /// The SYN carries timestamps (kind 8).
    pub timestamps: bool,
}

/// Encodes the option for `t` into the start of `out`; returns the number of bytes
/// written (`t.option_len()`), or `None` if `out` is too short.
pub fn encode(t: &Target, out: &mut [u8]) -> Option<usize> {
    let len = t.option_len();
    let out = out.get_mut(..len)?;
    let (fam, port) = match t {
        Target::V4 { port, .. } => (FAMILY_V4, *port),
        Target::V6 { port, .. } => (FAMILY_V6, *port),
    };
    out[0] = KIND_EXP1;
    out[1] = len as u8;
    out[2..4].copy_from_slice(&EXID.to_be_bytes());
    out[4] = (VERSION << 4) | fam;
    out[5..7].copy_from_slice(&port.to_be_bytes());
    match t {
        Target::V4 { addr, .. } => out[7..11].copy_from_slice(addr),
        Target::V6 { addr, .. } => out[7..23].copy_from_slice(addr),
    }
    Some(len)
}

/// Encodes the option followed by NOPs up to a multiple of 4 bytes; returns the padded
/// length, or `None` if `out` is too short.
pub fn encode_padded(t: &Target, out: &mut [u8]) -> Option<usize> {
    let padded = t.padded_len();
    let out = out.get_mut(..padded)?;
    let len = encode(t, out)?;
    for b in &mut out[len..] {
        *b = 1; // NOP
    }
    Some(padded)
}

/// Decodes the body of a proxy-target option (`opt` is the whole option: kind, length,
/// ExID, ...), whose kind and ExID were already matched.
fn decode(opt: &[u8]) -> Result<Target, ParseError> {
    if opt.len() != LEN_V4 && opt.len() != LEN_V6 {
        return Err(ParseError::BadLength);
    }
    if opt[4] >> 4 != VERSION {
        return Err(ParseError::BadVersion);
    }
    let port = u16::from_be_bytes([opt[5], opt[6]]);
    let t = match (opt[4] & 0xf, opt.len()) {
        (FAMILY_V4, LEN_V4) => {
            let mut addr = [0; 4];
            addr.copy_from_slice(&opt[7..11]);
            Target::V4 { addr, port }
        }
        (FAMILY_V6, LEN_V6) => {
            let mut addr = [0; 16];
            addr.copy_from_slice(&opt[7..23]);
            Target::V6 { addr, port }
        }
        _ => return Err(ParseError::BadFamily),
    };
    if port == 0 {
        return Err(ParseError::ZeroPort);
    }
    Ok(t)
}

/// Parses the option list of a TCP header (the bytes after the fixed 20-byte header).
///
/// Like the kernel's own parser, an end-of-list option stops the walk. Unlike it, a
/// malformed list is an error rather than silently cut short: the proxy refuses such a
/// SYN instead of guessing.
pub fn parse(opts: &[u8]) -> Result<SynOptions, ParseError> {
    let mut out = SynOptions::default();
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        match kind {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let len = *opts.get(i + 1).ok_or(ParseError::BadOptionList)? as usize;
        if len < 2 || i + len > opts.len() {
            return Err(ParseError::BadOptionList);
        }
        let opt = &opts[i..i + len];
        match kind {
            KIND_EXP1 | KIND_EXP2 if len >= 4 && u16::from_be_bytes([opt[2], opt[3]]) == EXID => {
                if out.target.is_some() {
                    return Err(ParseError::Duplicate);
                }
                out.target = Some(decode(opt)?);
            }
            KIND_MPTCP if len >= 3 => {
                out.mptcp = match opt[2] >> 4 {
                    0 => MptcpSyn::Capable,
                    1 => MptcpSyn::Join,
                    _ => MptcpSyn::Other,
                };
            }
            8 => out.timestamps = true,
            _ => {}
        }
        i += len;
    }
    Ok(out)
}
