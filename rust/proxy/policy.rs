// SPDX-License-Identifier: GPL-2.0

//! Who may use the proxy, and where it may connect.
//!
//! Pure: no kernel imports; `host/` builds this file too.
//!
//! A proxy that connects anywhere for anyone is an open relay, so the policy is closed by
//! default: an empty list allows nothing. On top of the lists, some targets are refused
//! whatever they say ([`Special`]): the proxy's own addresses, loopback, link-local,
//! multicast, broadcast and unspecified addresses, also when written as IPv4-mapped IPv6.

use super::option::Target;

/// An IP address (network-order bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Addr {
    /// The address of a target.
    pub fn of(t: &Target) -> Addr {
        match *t {
            Target::V4 { addr, .. } => Addr::V4(addr),
            Target::V6 { addr, .. } => Addr::V6(addr),
        }
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as IPv4; others unchanged.
    pub fn unmapped(self) -> Addr {
        match self {
            Addr::V6(a) if a[..10] == [0; 10] && a[10] == 0xff && a[11] == 0xff => {
                Addr::V4([a[12], a[13], a[14], a[15]])
            }
            other => other,
        }
    }
}

/// Addresses a proxy never connects to, whatever the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Unspecified,
    Loopback,
    LinkLocal,
    Multicast,
    Broadcast,
}

/// Classifies the addresses no proxy may connect to.
pub fn special(a: Addr) -> Option<Special> {
    match a.unmapped() {
        Addr::V4(b) => match b {
            [0, ..] => Some(Special::Unspecified), // 0.0.0.0/8, "this network"
            [127, ..] => Some(Special::Loopback),
            [169, 254, ..] => Some(Special::LinkLocal),
            [224..=239, ..] => Some(Special::Multicast),
            [255, 255, 255, 255] => Some(Special::Broadcast),
            _ => None,
        },
        Addr::V6(b) => {
            if b == [0; 16] {
                Some(Special::Unspecified)
            } else if b[..15] == [0; 15] && b[15] == 1 {
                Some(Special::Loopback)
            } else if b[0] == 0xfe && b[1] & 0xc0 == 0x80 {
                Some(Special::LinkLocal)
            } else if b[0] == 0xff {
                Some(Special::Multicast)
            } else {
                None
            }
        }
    }
}

/// An address prefix, `addr/len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    addr: Addr,
    len: u8,
}

impl Prefix {
    /// `addr/len`; `None` if `len` is too long for the family.
    pub fn new(addr: Addr, len: u8) -> Option<Prefix> {
        let max = match addr {
            Addr::V4(_) => 32,
            Addr::V6(_) => 128,
        };
        (len <= max).then_some(Prefix { addr, len })
    }

    /// Whether `a` is inside the prefix. IPv4-mapped IPv6 addresses match IPv4 prefixes.
    pub fn contains(&self, a: Addr) -> bool {
        match (self.addr, a.unmapped()) {
            (Addr::V4(p), Addr::V4(x)) => prefix_eq(&p, &x, self.len),
            (Addr::V6(p), Addr::V6(x)) => prefix_eq(&p, &x, self.len),
            _ => false,
        }
    }

    /// Parses `a.b.c.d/len`, `x:y::z/len`, or an address alone (a host prefix).
    pub fn parse(s: &str) -> Option<Prefix> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(parse_dec(l)?)),
            None => (s, None),
        };
        let addr = parse_addr(a)?;
        let max = match addr {
            Addr::V4(_) => 32,
            Addr::V6(_) => 128,
        };
        let len = len.unwrap_or(max);
        if len > max {
            return None;
        }
        Prefix::new(addr, len as u8)
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

fn parse_dec(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u32, |v, b| Some(v * 10 + (b - b'0') as u32))
}

fn parse_v4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in &mut out {
        let v = parse_dec(parts.next()?)?;
        if v > 255 {
            return None;
        }
        *o = v as u8;
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

/// An inclusive range of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// Parses `port` or `first-last`.
    pub fn parse(s: &str) -> Option<PortRange> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let port = |x: &str| -> Option<u16> {
            if x.is_empty() || x.len() > 5 || !x.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let v = x.bytes().fold(0u32, |v, b| v * 10 + (b - b'0') as u32);
            (1..=65535).contains(&v).then_some(v as u16)
        };
        let (first, last) = (port(a)?, port(b)?);
        (first <= last).then_some(PortRange { first, last })
    }

    pub fn contains(&self, p: u16) -> bool {
        self.first <= p && p <= self.last
    }
}

/// Why a connection was refused. Each is a counter on the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client's address is in no allowed-client prefix.
    ClientNotAllowed,
    /// The target is one of the proxy's own addresses.
    TargetIsProxy,
    /// The target is loopback, link-local, multicast, broadcast or unspecified.
    TargetSpecial(Special),
    /// The target's address is in no allowed-target prefix.
    TargetNotAllowed,
    /// The target's port is in no allowed port range.
    PortNotAllowed,
}

/// The configured lists. Empty lists allow nothing.
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    pub clients: &'a [Prefix],
    pub targets: &'a [Prefix],
    pub ports: &'a [PortRange],
}

impl Policy<'_> {
    /// Decides whether `client` may have the proxy connect to `target`. `is_own` tells
    /// whether an address belongs to the proxy (its namespace's local addresses).
    pub fn check(&self, client: Addr, target: &Target, is_own: impl Fn(Addr) -> bool) -> Result<(), Refusal> {
        if !self.clients.iter().any(|p| p.contains(client)) {
            return Err(Refusal::ClientNotAllowed);
        }
        let addr = Addr::of(target).unmapped();
        if let Some(s) = special(addr) {
            return Err(Refusal::TargetSpecial(s));
        }
        if is_own(addr) {
            return Err(Refusal::TargetIsProxy);
        }
        if !self.targets.iter().any(|p| p.contains(addr)) {
            return Err(Refusal::TargetNotAllowed);
        }
        if !self.ports.iter().any(|r| r.contains(target.port())) {
            return Err(Refusal::PortNotAllowed);
        }
        Ok(())
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

impl Default for PortRange {
    fn default() -> Self {
        PortRange { first: 1, last: 1 }
    }
}

/// A list of at most `N` items parsed from text (the value of a sysctl): items separated
/// by spaces, tabs, commas or newlines. Bounded, so a configuration cannot grow memory.
#[derive(Clone, Copy, Debug)]
pub struct List<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
}

/// Why a list was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListError {
    /// The item at this position (0-based) does not parse.
    BadItem(usize),
    /// More than `N` items.
    TooMany,
}

impl<T: Copy + Default, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        List {
            items: [T::default(); N],
            len: 0,
        }
    }
}

impl<T: Copy + Default, const N: usize> List<T, N> {
    /// Parses `text` with `item`; all or nothing.
    pub fn parse(text: &str, item: impl Fn(&str) -> Option<T>) -> Result<Self, ListError> {
        let mut out = Self::default();
        let words = text
            .split(|c: char| c == ' ' || c == '\t' || c == ',' || c == '\n')
            .filter(|w| !w.is_empty());
        for (i, w) in words.enumerate() {
            if out.len == N {
                return Err(ListError::TooMany);
            }
            out.items[out.len] = item(w).ok_or(ListError::BadItem(i))?;
            out.len += 1;
        }
        Ok(out)
    }

    /// The items.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
}
