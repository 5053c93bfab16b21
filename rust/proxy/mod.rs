// SPDX-License-Identifier: GPL-2.0

//! The MPTCP proxy: the proxy-target option codec ([`option`]), the access policy
//! ([`policy`]), the client side that tags SYNs ([`tag`]), the gate that checks every SYN
//! to the proxy port ([`gate`]) and remembers the targets it lets through ([`pending`]),
//! and the in-kernel listener ([`runtime`]) and relay to the targets ([`conn`]).
//!
//! Configuration, per network namespace, in `net.mptcp_proxy.*` ([`config`], described
//! in `Documentation/proxy-admin.rst`); counters in `/proc/net/mptcp_proxy_stat`
//! ([`stats`]).

// The pure files say `pub` because the host crate (host/) exports them.
#[allow(unreachable_pub)]
pub(crate) mod config;
pub(crate) mod conn;
pub(crate) mod conns;
pub(crate) mod dir;
#[allow(unreachable_pub)]
pub(crate) mod gate;
#[allow(unreachable_pub, dead_code)]
pub(crate) mod option;
#[allow(unreachable_pub)]
pub(crate) mod pending;
#[allow(unreachable_pub)]
pub(crate) mod policy;
pub(crate) mod runtime;
#[allow(unreachable_pub)]
pub(crate) mod stats;
#[allow(unreachable_pub)]
pub(crate) mod tag;

use core::fmt::{self, Write};
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::inet::addr::{Addr, Family};
use crate::inet::syn::{self, Syn};
use crate::sys::net::Net;
use crate::sys::netfilter::{Skb, Verdict};
use crate::sys::proc::SeqWriter;
use crate::sys::rcu::RcuBox;
use crate::sys::socket::SockError;
use crate::sys::stats::Counters;
use config::{Config, SYSCTLS};
use gate::{decide, Decision};
use option::Target;
use pending::{Inserted, Key};
use policy::Policy;
use stats::Stat;
use tag::{tag_packet, TagError};

/// The proxy's per-namespace state (part of the module's pernet data; all zero at start:
/// no configuration, i.e. the proxy is off).
#[derive(Zeroable)]
pub(crate) struct NetProxy {
    config: RcuBox<Config>,
    stats: Counters<{ Stat::COUNT }>,
    runtime: RcuBox<RuntimeHandle>,
}

/// The running proxy of a namespace, published for the gate.
pub(crate) struct RuntimeHandle {
    rt: Arc<runtime::Runtime>,
}

impl Config {
    fn limits(&self) -> runtime::Limits {
        runtime::Limits {
            max_conns: self.max_conns as usize,
            max_per_client: self.max_conns_per_client as usize,
            syn_retries: self.syn_retries,
            idle_ms: self.idle_s as u64 * 1000,
        }
    }
}

impl NetProxy {
    /// A packet delivered to this namespace: a SYN to the proxy port is let through
    /// (its target remembered) or refused with a reset.
    pub(crate) fn local_in(&self, net: &Net, family: Family, skb: &Skb) -> Verdict {
        match syn::parse_syn(skb, family) {
            Some(p) => self.on_syn(net, &p.syn()),
            None => Verdict::Accept,
        }
    }

    /// Decides on a SYN delivered to this namespace.
    fn on_syn(&self, net: &Net, syn: &Syn<'_>) -> Verdict {
        let decision = self.config.read(|c| {
            let Some(c) = c else {
                return Decision::Ignore;
            };
            let policy = Policy {
                clients: c.clients.items(),
                targets: c.targets.items(),
                ports: c.ports.items(),
            };
            decide(c.port, syn, &policy, |a| net.is_local(a))
        });
        if let Decision::Accept(t) = decision {
            // Remembered for the accept, or refused if the table says no.
            let key = Key {
                saddr: syn.saddr.unmapped(),
                sport: syn.sport,
                daddr: syn.daddr.unmapped(),
                dport: syn.dport,
            };
            let now = crate::sys::time::now_ms();
            let kept = self.runtime.read(|h| h.map(|h| h.rt.remember(key, t, now)));
            // Refused with a reset, not dropped: a client whose SYNs time out retries
            // without MP_CAPABLE and, answered, turns active MPTCP off for an hour
            // (mptcp_active_detect_blackhole()).
            let refused = match kept {
                Some(Inserted::Conflict) => Some((Stat::PendingConflict, Verdict::Reset)),
                Some(Inserted::Full) => Some((Stat::PendingFull, Verdict::Reset)),
                Some(Inserted::ClientQuota) => Some((Stat::PendingClientQuota, Verdict::Reset)),
                // No runtime (it could not listen): the SYN finds no listener anyway.
                Some(Inserted::New | Inserted::Refreshed) | None => None,
            };
            if let Some((s, v)) = refused {
                self.count(s);
                return v;
            }
        }
        if let Some(s) = decision.stat() {
            self.count(s);
        }
        match decision {
            Decision::Refuse(_) => Verdict::Reset,
            Decision::Ignore | Decision::Join | Decision::Accept(_) => Verdict::Accept,
        }
    }

    /// Client side: a locally generated packet, after NAT. If it is a SYN whose
    /// connection the administrator's rules sent to a proxy (a DNAT, and the configured
    /// conntrack mark), its TCP header gets the original destination as proxy-target
    /// option.
    pub(crate) fn local_out(&self, family: Family, skb: &Skb) {
        let mark = self.config.read(|c| c.map_or(0, |c| c.client_ct_mark));
        if mark == 0 {
            return;
        }
        let Some(p) = syn::parse_syn(skb, family) else {
            return;
        };
        let Some(ct) = skb.conntrack() else {
            return;
        };
        if ct.mark != mark || !ct.dnat {
            return;
        }
        let target = match ct.orig_daddr {
            Addr::V4(addr) => Target::V4 {
                addr,
                port: ct.orig_dport,
            },
            Addr::V6(addr) => Target::V6 {
                addr,
                port: ct.orig_dport,
            },
        };
        let rw = match tag_packet(skb, family, &p, &target, skb.checksum_partial()) {
            Ok(rw) => rw,
            Err(TagError::NoRoom) => {
                self.count(Stat::ClientNoRoom);
                return;
            }
            Err(TagError::NotPlainSyn) => {
                self.count(Stat::ClientSynData);
                return;
            }
            // Joins, already tagged or malformed ones go out as they are.
            Err(_) => return,
        };
        // A packet that cannot be rewritten (no memory) goes out untagged; the proxy
        // refuses it.
        let tcp = &rw.tcp.header[..rw.tcp.len];
        if skb.rewrite(&rw.net.bytes[..rw.net.len], rw.thoff, tcp) {
            self.count(Stat::ClientTagged);
            if rw.tcp.dropped_timestamps {
                self.count(Stat::ClientDroppedTimestamps);
            }
        } else {
            self.count(Stat::ClientRewriteFailed);
        }
    }

    /// Reads sysctl `idx` of [`SYSCTLS`].
    pub(crate) fn sysctl_get(&self, idx: usize, w: &mut dyn Write) -> fmt::Result {
        let sysctl = SYSCTLS.get(idx).ok_or(fmt::Error)?;
        self.config.read(|c| match c {
            Some(c) => sysctl.get(c, w),
            None => sysctl.get(&Config::default(), w),
        })
    }

    /// Writes sysctl `idx` of [`SYSCTLS`] (process context): validates, then publishes a
    /// new configuration. A bad value is refused with `EINVAL` and changes nothing.
    /// Writers are serialised (the module's `config_lock`).
    pub(crate) fn sysctl_set(&self, net: &Net, idx: usize, text: &str) -> Result {
        let sysctl = SYSCTLS.get(idx).ok_or(EINVAL)?;
        // One writer at a time: each write copies the configuration, changes one value
        // and publishes the copy, and a port change stops and starts a runtime. Two at
        // once would lose an update, or start two runtimes and drop one still running.
        let shared = crate::SHARED.get().ok_or(ENODEV)?;
        let _writer = shared.config_lock.lock();
        let mut new = KBox::new(
            self.config.read(|c| c.copied().unwrap_or_default()),
            GFP_KERNEL,
        )?;
        let old_port = new.port;
        sysctl.set(&mut new, text).map_err(|_| EINVAL)?;
        let (port, limits) = (new.port, new.limits());
        self.config.replace(Some(new));
        // Limits apply to a running proxy at once.
        let rt = self.runtime.read(|h| h.map(|h| h.rt.clone()));
        if let Some(rt) = rt {
            rt.set_limits(limits);
        }
        if port == old_port {
            return Ok(());
        }
        self.stop();
        if port == 0 {
            return Ok(());
        }
        let started = runtime::Runtime::start(net, port, limits).and_then(|rt| {
            KBox::new(RuntimeHandle { rt: rt.clone() }, GFP_KERNEL).map_err(|_| {
                // A started runtime must be shut down, never just dropped: its listener
                // and timer keep it alive.
                rt.shutdown();
                flush_work();
                ENOMEM
            })
        });
        match started {
            Ok(h) => {
                self.runtime.replace(Some(h));
                Ok(())
            }
            Err(e) => {
                // The port stays configured but nothing listens: say so.
                pr_warn!("cannot listen on port {}: {:?}\n", port, e);
                let mut c = KBox::new(
                    self.config.read(|c| c.copied().unwrap_or_default()),
                    GFP_KERNEL,
                )?;
                c.port = 0;
                self.config.replace(Some(c));
                Err(e)
            }
        }
    }

    /// Stops the running proxy, if any: resets its connections and waits for its work.
    fn stop(&self) {
        let rt = self.runtime.read(|h| h.map(|h| h.rt.clone()));
        if let Some(rt) = rt {
            rt.shutdown();
            self.runtime.replace(None);
            flush_work();
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

    /// Namespace teardown, first step (the hooks and sysctls are gone already): the gate
    /// and the sysctl readers no longer see the runtime or the configuration.
    pub(crate) fn pre_exit(&self) {
        self.runtime.retire();
        self.config.retire();
    }

    /// Namespace teardown, after a grace period: stops the runtime (resets its
    /// connections, waits for its work) and frees what [`NetProxy::pre_exit`] unpublished.
    pub(crate) fn exit(&self) {
        if let Some(h) = self.runtime.take_retired() {
            h.rt.shutdown();
            drop(h);
            flush_work();
        }
        drop(self.config.take_retired());
    }

    /// `/proc/net/mptcp_proxy_stat`: the counters, `Name Value` lines, then the gauges.
    pub(crate) fn show_stats(&self, w: &mut SeqWriter) {
        for &s in Stat::ALL {
            let _ = writeln!(w, "{:<32}{}", s.name(), self.stats.get(s as usize));
        }
        // Take a reference under RCU, ask outside it: `active` takes a mutex.
        let rt = self.runtime.read(|h| h.map(|h| h.rt.clone()));
        let (active, pending) = rt.map_or((0, 0), |rt| (rt.active(), rt.pending()));
        let _ = writeln!(w, "{:<32}{}", "ProxyConnActive", active);
        let _ = writeln!(w, "{:<32}{}", "ProxyPending", pending);
    }

    /// `/proc/net/mptcp_proxy`: the header, then the connections, for openers with
    /// `CAP_NET_ADMIN` over the namespace only (a listing takes each connection's lock
    /// in turn, which no unprivileged reader should be able to repeat at will).
    pub(crate) fn show_conns(&self, w: &mut SeqWriter, net: &Net) {
        let rt = self.runtime.read(|h| h.map(|h| h.rt.clone()));
        match rt {
            Some(rt) if w.opener_net_admin(net) => rt.show_conns(w),
            _ => conn::Conn::show_header(w),
        }
    }
}

/// Waits for every queued work item of the module (a stopped runtime's last ones).
fn flush_work() {
    if let Some(s) = crate::SHARED.get() {
        s.wq.flush();
    }
}

/// Counts `s` in `net`.
pub(super) fn stat(net: &Net, s: Stat) {
    if let Some(d) = net.data::<crate::NetData>() {
        d.proxy.count(s);
    }
}

/// The counter of an upstream connection failure.
pub(super) fn upstream_stat(e: SockError) -> Stat {
    match e {
        SockError::Refused | SockError::Reset => Stat::UpstreamRefused,
        SockError::TimedOut => Stat::UpstreamTimeout,
        SockError::Unreachable => Stat::UpstreamUnreachable,
        SockError::Other => Stat::UpstreamFailed,
    }
}

/// The module's workqueue, where the proxy's work items run.
pub(super) fn queue() -> Option<&'static kernel::workqueue::Queue> {
    crate::SHARED.get().map(|s| s.wq.queue())
}
