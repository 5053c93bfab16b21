// SPDX-License-Identifier: GPL-2.0

//! `lia`: the Linked Increases Algorithm of RFC 6356 (Wischik, Raiciu, Greenhalgh,
//! Handley, "Design, implementation and evaluation of congestion control for multipath
//! TCP", NSDI 2011), the coupled congestion control of MPTCP.
//!
//! Each subflow of an MPTCP connection responds to loss as Reno (a loss halves that
//! subflow's window) and does Reno's slow start, except that the initial slow start
//! ends on a rising RTT as HyStart++ (RFC 9406) has it, see [`hystart`]. In congestion avoidance an ACK of `acked` packets on
//! subflow `i` grows its window by `min(alpha * acked / w_total, acked / w_i)` with
//! `alpha = w_total * max_i(w_i / r_i^2) / (sum_i w_i / r_i)^2`: together the subflows
//! take no more than one TCP flow would on the best of their paths, and traffic moves to
//! the less congested paths. The arithmetic is in [`math`], the per-connection state and
//! when alpha is recomputed in [`coupling`]; both are pure and tested on the host.
//!
//! A plain TCP socket, an MPTCP connection with a single subflow able to send, and a
//! connection that fell back to TCP behave exactly as Reno.
//!
//! # Shared state and what protects what
//!
//! - Each network namespace has its own [`Registry`] ([`NetLia`]), whose `conns` (a BH
//!   spinlock) maps each MPTCP connection of the namespace and algorithm ([`ConnKey`],
//!   the address of its `mptcp_sock`, and [`Alg`]: `lia` or `olia`, see `ops.rs`) to its
//!   [`Coupling`]. Taken only when a subflow attaches or detaches and when
//!   `/proc/net/lia` or `lia_stat` is read, never per ACK; namespaces never contend.
//!   A subflow reaches its namespace's registry only while the namespace is alive
//!   (`Net::with_data`); one that outlives it (an orphan) keeps its [`Coupling`] alive
//!   by its own reference and frees it when it detaches.
//! - [`Coupling::state`] (a BH spinlock) protects one connection's [`Connection`]: the
//!   subflow slots and the last alpha. Taken once per ACK by the subflow that received
//!   it; subflows of one connection on different CPUs serialise here, for a slot update
//!   and, when the subflow's window or RTT moved, a pass over at most 16 slots.
//! - Lock order: `conns`, then `state`.
//! - A [`Coupling`] is reference counted ([`Arc`]): each attached subflow holds one
//!   reference in its `icsk_ca_priv` and the registry holds one. A subflow that detaches
//!   (`release`, or fallback) removes the entry from the registry, under `conns`, when it
//!   was the last one attached. The memory is thus bounded by one [`Coupling`] per MPTCP
//!   connection and algorithm, and freed when its last subflow stops using it, whether
//!   the MPTCP socket is gone already or not. The key cannot be reused by another
//!   connection while a subflow is attached (see [`ConnKey`]).
//! - A socket's own private data is only touched by its own callbacks, which the TCP stack
//!   serialises.

// The pure files say `pub` because the host crate (host/) exports them.
#[allow(unreachable_pub)]
pub(crate) mod coupling;
#[allow(unreachable_pub)]
pub(crate) mod hystart;
#[allow(unreachable_pub)]
pub(crate) mod math;
#[allow(unreachable_pub)]
pub(crate) mod olia;
mod ops;

pub(crate) use ops::{Lia, Olia};

use core::fmt::Write;
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::Arc;

use crate::sys::net::Net;
use crate::sys::proc::SeqWriter;
use crate::sys::rcu::RcuBox;
use crate::sys::stats::Counters;
use crate::sys::sync::{new_spinlock_bh, SpinLockBh};
use crate::sys::tcp::{ConnKey, TcpSock};
use coupling::Connection;
use math::{ALPHA_SHIFT, ALPHA_UNIT, Z_SHIFT};

counters! {
    /// The counters of `/proc/net/lia_stat`, per network namespace.
    pub(crate) enum Stat {
        /// `lia` initialised on a socket.
        SubflowInit = "LiaSubflowInit",
        /// `olia` initialised on a socket (the other counters count `lia` and `olia`).
        OliaSubflowInit = "OliaSubflowInit",
        /// An MPTCP subflow joined its connection's coupling.
        SubflowCoupled = "LiaSubflowCoupled",
        /// A subflow that could not be coupled (no free slot, or no memory): runs as Reno.
        SubflowUncoupled = "LiaSubflowUncoupled",
        /// `lia` on a socket that is not an MPTCP subflow: runs as Reno.
        PlainTcp = "LiaPlainTcp",
        /// An MPTCP connection fell back to TCP, or a subflow lost its MPTCP context: it
        /// left the coupling and runs as Reno.
        MptcpFallback = "LiaMptcpFallback",
        /// Coupling state created for a connection.
        ConnCreated = "LiaConnCreated",
        /// Coupling state freed (its last subflow left).
        ConnFreed = "LiaConnFreed",
        /// Alpha recomputed (`lia`; those of live connections included).
        AlphaRecomputed = "LiaAlphaRecomputed",
        /// HyStart++ saw the RTT rise in an initial slow start: conservative slow start.
        HyStartCss = "LiaHyStartCss",
        /// The RTT fell below conservative slow start's baseline: back to slow start.
        HyStartSpurious = "LiaHyStartSpurious",
        /// HyStart++ ended an initial slow start (before any loss did).
        HyStartExit = "LiaHyStartExit",
        /// ... of which at once on a continued RTT rise in conservative slow start.
        HyStartRiseExit = "LiaHyStartRiseExit",
    }
}

/// Per-namespace counters.
pub(crate) type Stats = Counters<{ Stat::COUNT }>;

fn stat(sk: &TcpSock, s: Stat) {
    stat_add(sk, s, 1);
}

fn stat_add(sk: &TcpSock, s: Stat, n: u64) {
    // A subflow may outlive its namespace's pernet exit (an orphan of a kernel socket),
    // and the counters with it: count only while the namespace lives.
    sk.net()
        .with_data(|data: &crate::NetData| data.lia.stats.add(s as usize, n));
}

/// Which algorithm a coupling is for: subflows of one connection on different
/// algorithms never share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Alg {
    Lia,
    Olia,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Lia => "lia",
            Alg::Olia => "olia",
        }
    }
}

/// A registry key: the connection and the algorithm.
type Key = (ConnKey, Alg);

/// The coupling state of one MPTCP connection.
#[pin_data]
pub(crate) struct Coupling {
    key: Key,
    #[pin]
    state: SpinLockBh<Connection>,
}

/// The couplings of one namespace, by connection.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    conns: SpinLockBh<RBTree<Key, Arc<Coupling>>>,
}

/// `lia`'s part of the per-namespace data.
#[derive(Zeroable)]
pub(crate) struct NetLia {
    stats: Stats,
    /// Set in `init`, unpublished in `pre_exit`, freed in `exit`.
    registry: RcuBox<Pin<KBox<Registry>>>,
}

impl NetLia {
    /// Namespace set-up: creates the registry.
    pub(crate) fn init(&self) -> Result {
        let reg = KBox::pin_init(Registry::new(), GFP_KERNEL)?;
        self.registry.replace(Some(KBox::new(reg, GFP_KERNEL)?));
        Ok(())
    }

    /// Namespace teardown, first step: subflows no longer find the registry.
    pub(crate) fn pre_exit(&self) {
        self.registry.retire();
    }

    /// Namespace teardown, after a grace period: frees the registry (attached subflows
    /// hold their own references to their couplings).
    pub(crate) fn exit(&self) {
        drop(self.registry.take_retired());
    }

    /// Runs `f` with the namespace's registry, if it has one. Does not sleep.
    fn with_registry<R>(&self, f: impl FnOnce(&Registry) -> R) -> Option<R> {
        self.registry.read(|r| r.map(|r| f(r)))
    }
}

/// Runs `f` with the registry of the socket's namespace, while the namespace lives.
fn with_registry<R>(sk: &TcpSock, f: impl FnOnce(&Registry) -> R) -> Option<R> {
    sk.net()
        .with_data(|data: &crate::NetData| data.lia.with_registry(f))
        .flatten()
}

impl Registry {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            conns <- new_spinlock_bh!(RBTree::new(), "lia_registry"),
        })
    }

    /// Attaches a subflow of connection `key`: finds or creates its coupling and takes a
    /// slot in it.
    fn attach(&self, sk: &TcpSock, key: Key) -> Option<(Arc<Coupling>, usize)> {
        let mut conns = self.conns.lock();
        let coupling = match conns.get(&key) {
            Some(c) => c.clone(),
            None => {
                let c = Arc::pin_init(
                    pin_init!(Coupling {
                        key,
                        state <- new_spinlock_bh!(Connection::new(), "lia_conn"),
                    }),
                    GFP_ATOMIC,
                )
                .ok()?;
                conns
                    .try_create_and_insert(key, c.clone(), GFP_ATOMIC)
                    .ok()?;
                stat(sk, Stat::ConnCreated);
                c
            }
        };
        // Full: leave the entry as it is, its subflows are attached.
        let slot = coupling.state.lock().attach()?;
        Some((coupling, slot))
    }

    /// Detaches a subflow; frees the connection's entry when it was the last one.
    fn detach(&self, sk: &TcpSock, coupling: &Coupling, slot: usize) {
        let mut conns = self.conns.lock();
        let (remaining, computed) = {
            let mut st = coupling.state.lock();
            (st.detach(slot), st.computed())
        };
        if !remaining && conns.remove(&coupling.key).is_some() {
            stat(sk, Stat::ConnFreed);
            // Counted here rather than per ACK (a shared atomic on every ACK).
            stat_add(sk, Stat::AlphaRecomputed, computed);
        }
    }

    /// The recomputations of the live couplings.
    fn computed(&self) -> u64 {
        let conns = self.conns.lock();
        conns.values().map(|c| c.state.lock().computed()).sum()
    }

    /// Writes the couplings as a table; `admin`: whether the reader may see tokens.
    fn show(&self, w: &mut SeqWriter, admin: bool) {
        let _ = writeln!(
            w,
            "token    subflows coupled alpha      total_cwnd ai_divisor cc"
        );
        let conns = self.conns.lock();
        for c in conns.values() {
            let st = c.state.lock();
            // olia has no alpha or divisor of the connection: its subflows taking part.
            let summary = match c.key.1 {
                Alg::Lia => st.coupled(),
                Alg::Olia => None,
            };
            let (coupled, alpha, total, div) = match summary {
                Some(k) => (
                    k.subflows,
                    k.alpha_fp,
                    k.total_cwnd,
                    k.divisor_fp >> Z_SHIFT,
                ),
                None if c.key.1 == Alg::Olia => (st.active() as u32, 0, 0, 0),
                None => (0, 0, 0, 0),
            };
            let frac = ((alpha & (ALPHA_UNIT - 1)) * 10000) >> ALPHA_SHIFT;
            if admin {
                let _ = write!(w, "{:08x}", c.key.0.token());
            } else {
                let _ = write!(w, "--------");
            }
            let _ = writeln!(
                w,
                " {:8} {:7} {:5}.{:04} {:10} {:10} {}",
                st.attached(),
                coupled,
                alpha >> ALPHA_SHIFT,
                frac,
                total,
                div,
                c.key.1.name()
            );
        }
    }
}

/// `/proc/net/lia`: the couplings (`lia` and `olia`) of the namespace.
pub(crate) fn show_conns(w: &mut SeqWriter, net: &Net) {
    // Tokens identify connections to the path manager (and MP_JOINs): only for the
    // namespace's administrator. Asked outside the RCU section (LSM hooks).
    let admin = w.opener_net_admin(net);
    if let Some(data) = net.data::<crate::NetData>() {
        data.lia.with_registry(|reg| reg.show(w, admin));
    }
}

/// `/proc/net/lia_stat`: the namespace's counters, one `Name Value` per line.
pub(crate) fn show_stats(w: &mut SeqWriter, net: &Net) {
    if let Some(data) = net.data::<crate::NetData>() {
        // Connections still alive keep their recomputations to themselves.
        let live = data.lia.with_registry(|reg| reg.computed()).unwrap_or(0);
        for &s in Stat::ALL {
            let mut v = data.lia.stats.get(s as usize);
            if s == Stat::AlphaRecomputed {
                v += live;
            }
            let _ = writeln!(w, "{:<24}{}", s.name(), v);
        }
    }
}
