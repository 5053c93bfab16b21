// SPDX-License-Identifier: GPL-2.0

//! The MPTCP proxy: the proxy-target option codec ([`option`]), the access policy
//! ([`policy`]), the client side that tags SYNs ([`tag`]), the gate that checks every SYN
//! to the proxy port ([`gate`]) and remembers the targets it lets through ([`pending`]),
//! and the in-kernel listener and relay to the targets ([`relay`]).
//!
//! Configuration, per network namespace, in `net.mptcp_proxy.*` (see
//! `Documentation/proxy-admin.rst`); counters in `/proc/net/mptcp_proxy_stat`.

// The pure files say `pub` because the host crate (host/) exports them.
#[allow(unreachable_pub)]
pub(crate) mod gate;
#[allow(unreachable_pub, dead_code)]
pub(crate) mod option;
#[allow(unreachable_pub, dead_code)]
pub(crate) mod policy;
#[allow(unreachable_pub)]
pub(crate) mod pending;
pub(crate) mod relay;
#[allow(unreachable_pub)]
pub(crate) mod tag;

use core::fmt::{self, Write};
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::sys::net::Net;
use crate::sys::netfilter::{Conntrack, Verdict};
use crate::sys::proc::SeqWriter;
use crate::sys::rcu::RcuBox;
use crate::sys::stats::Counters;
use gate::{decide, Decision, Stat, Syn, NSTATS, STAT_NAMES};
use option::Target;
use policy::{Addr, List, PortRange, Prefix, Policy};
use tag::{tag_syn, TagError, Tagged};

/// Most entries in each allowed list.
const MAX_PREFIXES: usize = 32;
const MAX_PORT_RANGES: usize = 16;
/// Longest text of a list sysctl.
const MAX_LIST_TEXT: usize = 256;

/// A list sysctl: its parsed items and the text it was given.
#[derive(Clone, Copy)]
struct TextList<T: Copy + Default, const N: usize> {
    list: List<T, N>,
    text: [u8; MAX_LIST_TEXT],
    text_len: usize,
}

impl<T: Copy + Default, const N: usize> TextList<T, N> {
    fn empty() -> Self {
        TextList {
            list: List::default(),
            text: [0; MAX_LIST_TEXT],
            text_len: 0,
        }
    }

    fn parse(text: &str, item: impl Fn(&str) -> Option<T>) -> Result<Self> {
        if text.len() > MAX_LIST_TEXT {
            return Err(EINVAL);
        }
        let list = List::parse(text, item).map_err(|_| EINVAL)?;
        let mut t = [0u8; MAX_LIST_TEXT];
        t[..text.len()].copy_from_slice(text.as_bytes());
        Ok(TextList {
            list,
            text: t,
            text_len: text.len(),
        })
    }

    fn text(&self) -> &str {
        core::str::from_utf8(&self.text[..self.text_len]).unwrap_or("")
    }
}

/// A namespace's proxy configuration; replaced as a whole on every sysctl write.
#[derive(Clone, Copy)]
pub(crate) struct Config {
    /// The proxy port; 0: the proxy is off.
    port: u16,
    /// Client side: the conntrack mark of connections to send through a proxy; 0: off.
    client_ct_mark: u32,
    /// Most proxied connections at once.
    max_conns: u32,
    /// SYN retransmissions of an upstream connect (its timeout).
    syn_retries: u32,
    /// Idle timeout, seconds; 0: none.
    idle_s: u32,
    clients: TextList<Prefix, MAX_PREFIXES>,
    targets: TextList<Prefix, MAX_PREFIXES>,
    ports: TextList<PortRange, MAX_PORT_RANGES>,
}

impl Config {
    fn limits(&self) -> relay::Limits {
        relay::Limits {
            max_conns: self.max_conns as usize,
            syn_retries: self.syn_retries,
            idle_ms: self.idle_s as u64 * 1000,
        }
    }

    fn empty() -> Self {
        Config {
            port: 0,
            client_ct_mark: 0,
            max_conns: 1024,
            syn_retries: relay::UPSTREAM_SYN_RETRIES,
            idle_s: relay::IDLE_TIMEOUT_S,
            clients: TextList::empty(),
            targets: TextList::empty(),
            ports: TextList::empty(),
        }
    }
}

/// The proxy's per-namespace state (part of the module's pernet data; all zero at start:
/// no configuration, i.e. the proxy is off).
#[derive(Zeroable)]
pub(crate) struct NetProxy {
    config: RcuBox<Config>,
    stats: Counters<NSTATS>,
    runtime: RcuBox<RuntimeHandle>,
}

/// The running proxy of a namespace, published for the gate.
pub(crate) struct RuntimeHandle {
    rt: Arc<relay::Runtime>,
}

/// The sysctls of `net.mptcp_proxy`, in `SYSCTL_NAMES` order.
pub(crate) const SYSCTL_NAMES: [&CStr; 8] = [
    kernel::c_str!("port"),
    kernel::c_str!("allowed_clients"),
    kernel::c_str!("allowed_targets"),
    kernel::c_str!("allowed_ports"),
    kernel::c_str!("client_ct_mark"),
    kernel::c_str!("max_conns"),
    kernel::c_str!("connect_syn_retries"),
    kernel::c_str!("idle_timeout"),
];

impl NetProxy {
    /// Decides on a SYN delivered to this namespace.
    pub(crate) fn on_syn(&self, net: &Net, syn: &Syn<'_>) -> Verdict {
        let decision = self.config.read(|c| {
            let Some(c) = c else {
                return Decision::Ignore;
            };
            let policy = Policy {
                clients: c.clients.list.as_slice(),
                targets: c.targets.list.as_slice(),
                ports: c.ports.list.as_slice(),
            };
            decide(c.port, syn, &policy, |a| net.is_local(a))
        });
        if let Some(s) = decision.stat() {
            self.stats.inc(s as usize);
        }
        if let Decision::Accept(t) = decision {
            let now = crate::sys::time::now_ms();
            self.runtime.read(|h| {
                if let Some(h) = h {
                    h.rt.remember(syn.saddr, syn.sport, t, now);
                }
            });
        }
        match decision {
            Decision::Refuse(_) => Verdict::Reset,
            Decision::Ignore | Decision::Join | Decision::Accept(_) => Verdict::Accept,
        }
    }

    /// Client side: a locally generated SYN, after NAT. If the administrator's rules sent
    /// its connection to a proxy (a DNAT, and the configured conntrack mark), returns
    /// its header with the original destination as proxy-target option.
    pub(crate) fn on_out_syn(&self, ct: &Conntrack, tcp: &[u8]) -> Option<Tagged> {
        let mark = self.config.read(|c| c.map_or(0, |c| c.client_ct_mark));
        if mark == 0 || ct.mark != mark || !ct.dnat {
            return None;
        }
        let target = match ct.orig_daddr {
            Addr::V4(addr) => Target::V4 { addr, port: ct.orig_dport },
            Addr::V6(addr) => Target::V6 { addr, port: ct.orig_dport },
        };
        match tag_syn(tcp, &target) {
            Ok(t) => {
                self.stats.inc(Stat::ClientTagged as usize);
                if t.dropped_timestamps {
                    self.stats.inc(Stat::ClientDroppedTimestamps as usize);
                }
                Some(t)
            }
            Err(TagError::NoRoom) => {
                self.stats.inc(Stat::ClientNoRoom as usize);
                None
            }
            // Joins, SYNs with data, already tagged or malformed ones go out as they are.
            Err(_) => None,
        }
    }

    /// Reads sysctl `idx`.
    pub(crate) fn sysctl_get(&self, idx: usize, w: &mut dyn Write) -> fmt::Result {
        self.config.read(|c| {
            let empty = Config::empty();
            let c = c.unwrap_or(&empty);
            match idx {
                0 => write!(w, "{}", c.port),
                1 => w.write_str(c.clients.text()),
                2 => w.write_str(c.targets.text()),
                3 => w.write_str(c.ports.text()),
                4 => write!(w, "{:#x}", c.client_ct_mark),
                5 => write!(w, "{}", c.max_conns),
                6 => write!(w, "{}", c.syn_retries),
                7 => write!(w, "{}", c.idle_s),
                _ => Err(fmt::Error),
            }
        })
    }

    /// Writes sysctl `idx` (process context): validates, then publishes a new
    /// configuration. A bad value is refused with `EINVAL` and changes nothing.
    pub(crate) fn sysctl_set(&self, net: &Net, idx: usize, text: &str) -> Result {
        let mut new = KBox::new(
            self.config.read(|c| c.copied().unwrap_or_else(Config::empty)),
            GFP_KERNEL,
        )?;
        let text = text.trim();
        match idx {
            0 => {
                new.port = parse_port(text).ok_or(EINVAL)?;
            }
            1 => new.clients = TextList::parse(text, Prefix::parse)?,
            2 => new.targets = TextList::parse(text, Prefix::parse)?,
            3 => new.ports = TextList::parse(text, PortRange::parse)?,
            4 => new.client_ct_mark = parse_u32(text).ok_or(EINVAL)?,
            5 => {
                new.max_conns = parse_u32(text).filter(|&n| n >= 1 && n <= 1 << 20).ok_or(EINVAL)?;
            }
            6 => new.syn_retries = parse_u32(text).filter(|&n| (1..=6).contains(&n)).ok_or(EINVAL)?,
            // Below a day, like the kernel's other timeouts in seconds.
            7 => new.idle_s = parse_u32(text).filter(|&n| n < 86_400).ok_or(EINVAL)?,
            _ => return Err(EINVAL),
        }
        let (port, limits) = (new.port, new.limits());
        let old_port = self.config.read(|c| c.map_or(0, |c| c.port));
        self.config.replace(Some(new));
        // Limits apply to a running proxy at once.
        let rt = self.runtime.read(|h| h.map(|h| h.rt.clone()));
        if let Some(rt) = rt {
            rt.set_limits(limits);
        }
        if idx == 0 && port != old_port {
            self.stop();
            if port != 0 {
                let started = relay::Runtime::start(net, port, limits).and_then(|rt| {
                    KBox::new(RuntimeHandle { rt: rt.clone() }, GFP_KERNEL).map_err(|_| {
                        // A started runtime must be shut down, never just dropped: its
                        // listener and timer keep it alive.
                        rt.shutdown();
                        if let Some(s) = crate::SHARED.get() {
                            s.wq.flush();
                        }
                        ENOMEM
                    })
                });
                match started {
                    Ok(h) => self.runtime.replace(Some(h)),
                    Err(e) => {
                        // The port stays configured but nothing listens: say so.
                        pr_warn!("cannot listen on port {}: {:?}\n", port, e);
                        let mut c = KBox::new(self.config.read(|c| c.copied().unwrap_or_else(Config::empty)), GFP_KERNEL)?;
                        c.port = 0;
                        self.config.replace(Some(c));
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Stops the running proxy, if any: resets its connections and waits for its work.
    fn stop(&self) {
        let rt = self.runtime.read(|h| h.map(|h| h.rt.clone()));
        if let Some(rt) = rt {
            rt.shutdown();
            self.runtime.replace(None);
            if let Some(s) = crate::SHARED.get() {
                s.wq.flush();
            }
        }
    }

    /// Counts `s`.
    pub(crate) fn count(&self, s: Stat) {
        self.stats.inc(s as usize);
    }

    /// Counts relayed bytes.
    pub(crate) fn add_bytes(&self, up: u64, down: u64) {
        self.stats.add(Stat::BytesUp as usize, up);
        self.stats.add(Stat::BytesDown as usize, down);
    }

    /// Stops the proxy and frees the configuration (namespace exit).
    pub(crate) fn exit(&self) {
        self.stop();
        self.config.replace(None);
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = s.bytes().fold(0u32, |v, b| v * 10 + (b - b'0') as u32);
    u16::try_from(v).ok()
}

/// `/proc/net/mptcp_proxy_stat`: the namespace's proxy counters, `Name Value` lines.
pub(crate) fn show_stats(w: &mut SeqWriter, net: &Net) {
    if let Some(data) = net.data::<crate::NetData>() {
        for (i, name) in STAT_NAMES.iter().enumerate() {
            let _ = writeln!(w, "{:<32}{}", name, data.proxy.stats.get(i));
        }
        // Take a reference under RCU, ask outside it: `active` takes a mutex.
        let rt = data.proxy.runtime.read(|h| h.map(|h| h.rt.clone()));
        let (active, pending) = rt.map_or((0, 0), |rt| (rt.active(), rt.pending()));
        let _ = writeln!(w, "{:<32}{}", "ProxyConnActive", active);
        let _ = writeln!(w, "{:<32}{}", "ProxyPending", pending);
    }
}
