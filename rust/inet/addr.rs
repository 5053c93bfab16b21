// SPDX-License-Identifier: GPL-2.0

//! IP addresses and prefixes as values, and their text forms.
//!
//! Pure: no kernel imports; `host/` builds this file too. `sys/` converts these to and
//! from the kernel's `sockaddr`, `in6_addr` and packet bytes; the policy and the proxy
//! reason about them.

use core::fmt;

use super::num;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// An IP address (network-order bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Addr {
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as IPv4; others unchanged.
    pub fn unmapped(self) -> Addr {
        match self {
            Addr::V6(a) if a[..10] == [0; 10] && a[10] == 0xff && a[11] == 0xff => {
                Addr::V4([a[12], a[13], a[14], a[15]])
            }
            other => other,
        }
    }

    /// The unit of a per-client limit: an IPv4 address itself (IPv4-mapped ones as IPv4),
    /// an IPv6 address's /64, the least a single host or site is given.
    pub fn client_group(self) -> Addr {
        match self.unmapped() {
            Addr::V6(mut b) => {
                b[8..].fill(0);
                Addr::V6(b)
            }
            v4 => v4,
        }
    }

    /// The address as IPv6: an IPv4 address becomes IPv4-mapped (`::ffff:a.b.c.d`).
    pub fn to_v6(self) -> [u8; 16] {
        match self {
            Addr::V6(b) => b,
            Addr::V4(v) => [
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v[0], v[1], v[2], v[3],
            ],
        }
    }

    /// The bytes, network order.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Addr::V4(b) => b,
            Addr::V6(b) => b,
        }
    }
}

/// The text form of RFC 5952: IPv4 dotted; IPv6 in lowercase hex without leading zeros,
/// the longest run of two or more zero groups (the first of equal runs) as `::`, and an
/// IPv4-mapped address as `::ffff:a.b.c.d`.
impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = match self {
            Addr::V4(v) => return write!(f, "{}.{}.{}.{}", v[0], v[1], v[2], v[3]),
            Addr::V6(b) => b,
        };
        if let Addr::V4(v) = self.unmapped() {
            return write!(f, "::ffff:{}.{}.{}.{}", v[0], v[1], v[2], v[3]);
        }
        let mut g = [0u16; 8];
        for (i, x) in g.iter_mut().enumerate() {
            *x = u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
        }
        // The longest run of zero groups, if at least two long: [start, end).
        let (mut best, mut run) = ((0, 0), (0, 0));
        for (i, &x) in g.iter().enumerate() {
            if x != 0 {
                continue;
            }
            run = if run.1 == i {
                (run.0, i + 1)
            } else {
                (i, i + 1)
            };
            if run.1 - run.0 > best.1 - best.0 {
                best = run;
            }
        }
        if best.1 - best.0 < 2 {
            best = (8, 8);
        }
        for (i, x) in g.iter().enumerate() {
            if i == best.0 {
                f.write_str("::")?;
            } else if i > best.0 && i < best.1 {
                continue;
            } else {
                if i > 0 && i != best.1 {
                    f.write_str(":")?;
                }
                write!(f, "{:x}", x)?;
            }
        }
        Ok(())
    }
}

/// An address and a port in text form: `a.b.c.d:port` or `[v6]:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint(pub Addr, pub u16);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.unmapped() {
            a @ Addr::V4(_) => write!(f, "{}:{}", a, self.1),
            a => write!(f, "[{}]:{}", a, self.1),
        }
    }
}

/// An address prefix, `addr/len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    addr: Addr,
    len: u8,
}

/// The longest prefix of a family.
fn max_len(a: Addr) -> u8 {
    match a {
        Addr::V4(_) => 32,
        Addr::V6(_) => 128,
    }
}

impl Prefix {
    /// `addr/len`; `None` if `len` is too long for the family.
    pub fn new(addr: Addr, len: u8) -> Option<Prefix> {
        (len <= max_len(addr)).then_some(Prefix { addr, len })
    }

    /// Whether `a` is inside the prefix. IPv4-mapped IPv6 addresses match IPv4 prefixes.
    pub fn contains(&self, a: Addr) -> bool {
        match (self.addr, a.unmapped()) {
            (Addr::V4(p), Addr::V4(x)) => prefix_eq(&p, &x, self.len),
            (Addr::V6(p), Addr::V6(x)) => prefix_eq(&p, &x, self.len),
            _ => false,
        }
    }

    /// Whether every address of `self` is inside `outer` (same family, at least as long,
    /// and starting inside it).
    pub fn within(&self, outer: &Prefix) -> bool {
        self.len >= outer.len && outer.contains(self.addr)
    }

    /// Parses `a.b.c.d/len`, `x:y::z/len`, or an address alone (a host prefix).
    pub fn parse(s: &str) -> Option<Prefix> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(num::dec(l)?)),
            None => (s, None),
        };
        let addr = parse_addr(a)?;
        let len = len.unwrap_or(max_len(addr) as u32);
        Prefix::new(addr, u8::try_from(len).ok()?)
    }
}

impl Default for Prefix {
    fn default() -> Self {
        Prefix {
            addr: Addr::V4([0; 4]),
            len: 32,
        }
    }
}

fn prefix_eq(p: &[u8], x: &[u8], len: u8) -> bool {
    let full = (len / 8) as usize;
    let rem = len % 8;
    if p[..full] != x[..full] {
        return false;
    }
    if rem == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rem);
    p[full] & mask == x[full] & mask
}

fn parse_v4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in &mut out {
        let part = parts.next()?;
        // Three digits at most: no octal-looking or padded forms beyond that.
        if part.len() > 3 {
            return None;
        }
        *o = u8::try_from(num::dec(part)?).ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn parse_hex16(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    s.bytes().try_fold(0u16, |v, b| {
        let d = (b as char).to_digit(16)? as u16;
        Some((v << 4) | d)
    })
}

/// Parses groups of an IPv6 address half (no `::` inside) into `out`; returns how many
/// 16-bit groups were written. A trailing dotted IPv4 counts as two groups.
fn parse_v6_groups(s: &str, out: &mut [u16; 8]) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut it = s.split(':').peekable();
    while let Some(g) = it.next() {
        if it.peek().is_none() && g.contains('.') {
            let v4 = parse_v4(g)?;
            if n + 2 > 8 {
                return None;
            }
            out[n] = u16::from_be_bytes([v4[0], v4[1]]);
            out[n + 1] = u16::from_be_bytes([v4[2], v4[3]]);
            n += 2;
        } else {
            if n == 8 {
                return None;
            }
            out[n] = parse_hex16(g)?;
            n += 1;
        }
    }
    Some(n)
}

fn parse_v6(s: &str) -> Option<[u8; 16]> {
    let mut groups = [0u16; 8];
    match s.find("::") {
        Some(i) => {
            let (head, tail) = (&s[..i], &s[i + 2..]);
            if tail.contains("::") {
                return None;
            }
            let mut h = [0u16; 8];
            let mut t = [0u16; 8];
            let nh = parse_v6_groups(head, &mut h)?;
            let nt = parse_v6_groups(tail, &mut t)?;
            if nh + nt > 7 {
                return None;
            }
            groups[..nh].copy_from_slice(&h[..nh]);
            groups[8 - nt..].copy_from_slice(&t[..nt]);
        }
        None => {
            if parse_v6_groups(s, &mut groups)? != 8 {
                return None;
            }
        }
    }
    let mut out = [0u8; 16];
    for (i, g) in groups.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

/// Parses an IPv4 or IPv6 address in text form.
pub fn parse_addr(s: &str) -> Option<Addr> {
    if s.contains(':') {
        parse_v6(s).map(Addr::V6)
    } else {
        parse_v4(s).map(Addr::V4)
    }
}
