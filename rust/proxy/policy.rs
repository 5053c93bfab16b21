// SPDX-License-Identifier: GPL-2.0

//! Who may use the proxy, and where it may connect.
//!
//! Pure: no kernel imports; `host/` builds this file too.
//!
//! A proxy that connects anywhere for anyone is an open relay, so the policy is closed by
//! default: an empty list allows nothing. On top of the lists, some targets are refused
//! whatever they say ([`Special`]): the proxy's own addresses, loopback, link-local,
//! multicast, broadcast and unspecified addresses, also when written as IPv4-mapped IPv6.
//! And a catch-all does not open the internal ranges ([`INTERNAL`]: private networks,
//! shared address space, unique local IPv6, IPv6 forms that embed an IPv4 address,
//! reserved IPv4): a target there is allowed only by an allowed prefix inside its range,
//! which the administrator wrote for it (`10.1.0.0/16` allows `10.1.2.3`;
//! `0.0.0.0/0` and `10.0.0.0/7` do not).

use super::option::Target;
use crate::inet::addr::{parse_addr, Addr, Prefix};
use crate::inet::num;

/// Internal ranges, as (address, length): reachable only through an allowed prefix
/// inside them.
const INTERNAL_TEXT: [(&str, u8); 16] = [
    ("192.0.0.0", 24),    // IETF protocol assignments, RFC 6890
    ("::ffff:0:0:0", 96), // IPv4-translated (SIIT): an IPv4 address inside, RFC 6145
    ("100::", 64),        // discard-only, RFC 6666
    ("10.0.0.0", 8),      // RFC 1918
    ("172.16.0.0", 12),   // RFC 1918
    ("192.168.0.0", 16),  // RFC 1918
    ("100.64.0.0", 10),   // shared address space (carrier-grade NAT), RFC 6598
    ("198.18.0.0", 15),   // benchmarking, RFC 2544
    ("240.0.0.0", 4),     // reserved, RFC 1112
    ("fc00::", 7),        // unique local (cloud metadata such as fd00:ec2::254), RFC 4193
    ("fec0::", 10),       // site-local, deprecated, RFC 3879
    ("64:ff9b::", 96),    // NAT64 well-known prefix: an IPv4 address inside, RFC 6052
    ("64:ff9b:1::", 48),  // NAT64 local use, RFC 8215
    ("2002::", 16),       // 6to4: an IPv4 address inside, RFC 3056
    ("::", 96),           // IPv4-compatible, deprecated, RFC 4291
    ("2001::", 32),       // Teredo: an IPv4 address inside, RFC 4380
];

/// The internal ranges (see the module documentation).
pub fn internal_ranges() -> impl Iterator<Item = Prefix> {
    INTERNAL_TEXT
        .iter()
        .filter_map(|&(a, len)| Prefix::new(parse_addr(a)?, len))
}

/// The IPv4 address that an IPv6 address of a translation or tunnelling form carries:
/// the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052), IPv4-translated
/// `::ffff:0:0:0/96` (RFC 6145), IPv4-compatible `::/96`, 6to4 `2002::/16` (RFC 3056) and
/// Teredo `2001::/32` (RFC 4380: the client's mapped address, bit-inverted in the last
/// 32 bits, where traffic to it goes). Traffic to such an address may reach
/// that IPv4 address, so it is checked too.
pub fn embedded_v4(a: Addr) -> Option<Addr> {
    let Addr::V6(b) = a else {
        return None;
    };
    let v4 = |i: usize| Some(Addr::V4([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    match b {
        [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..] => v4(12),
        [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, ..] => v4(12),
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ..] => v4(12),
        [0x20, 0x02, ..] => v4(2),
        [0x20, 0x01, 0, 0, ..] => Some(Addr::V4([!b[12], !b[13], !b[14], !b[15]])),
        _ => None,
    }
}

/// The internal range `a` is in, if any.
pub fn internal(a: Addr) -> Option<Prefix> {
    internal_ranges().find(|r| r.contains(a.unmapped()))
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

/// An inclusive range of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// Parses `port` or `first-last` (ports 1 to 65535).
    pub fn parse(s: &str) -> Option<PortRange> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let port = |x: &str| {
            num::dec(x)
                .filter(|v| (1..=65535).contains(v))
                .map(|v| v as u16)
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
    /// The target is in an internal range that only a catch-all allowed.
    TargetInternal,
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
    /// An address in an internal range needs an allowed prefix inside that range.
    fn check_internal(&self, addr: Addr) -> Result<(), Refusal> {
        match internal(addr) {
            Some(range)
                if !self
                    .targets
                    .iter()
                    .any(|p| p.contains(addr) && p.within(&range)) =>
            {
                Err(Refusal::TargetInternal)
            }
            _ => Ok(()),
        }
    }

    /// Decides whether `client` may have the proxy connect to `target`. `is_own` tells
    /// whether an address belongs to the proxy (its namespace's local addresses).
    pub fn check(
        &self,
        client: Addr,
        target: &Target,
        is_own: impl Fn(Addr) -> bool,
    ) -> Result<(), Refusal> {
        if !self.clients.iter().any(|p| p.contains(client)) {
            return Err(Refusal::ClientNotAllowed);
        }
        let addr = target.addr().unmapped();
        if let Some(s) = special(addr) {
            return Err(Refusal::TargetSpecial(s));
        }
        if is_own(addr) {
            return Err(Refusal::TargetIsProxy);
        }
        if !self.targets.iter().any(|p| p.contains(addr)) {
            return Err(Refusal::TargetNotAllowed);
        }
        self.check_internal(addr)?;
        // An IPv6 form that carries an IPv4 address may reach it: that one is checked
        // as if it were the target, even where the form itself was allowed.
        if let Some(v4) = embedded_v4(addr) {
            if let Some(s) = special(v4) {
                return Err(Refusal::TargetSpecial(s));
            }
            if is_own(v4) {
                return Err(Refusal::TargetIsProxy);
            }
            self.check_internal(v4)?;
        }
        if !self.ports.iter().any(|r| r.contains(target.port())) {
            return Err(Refusal::PortNotAllowed);
        }
        Ok(())
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
        let words = text.split([' ', '\t', ',', '\n']).filter(|w| !w.is_empty());
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
