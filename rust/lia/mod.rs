// SPDX-License-Identifier: GPL-2.0

//! `lia`: the Linked Increases Algorithm of RFC 6356 (Wischik, Raiciu, Greenhalgh,
//! Handley, "Design, implementation and evaluation of congestion control for multipath
//! TCP", NSDI 2011), the coupled congestion control of MPTCP.
//!
//! Each subflow of an MPTCP connection does slow start and loss response as Reno (a loss
//! halves that subflow's window). In congestion avoidance an ACK of `acked` packets on
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
//!   spinlock) maps each MPTCP connection of the namespace ([`ConnKey`], the address of
//!   its `mptcp_sock`) to its [`Coupling`]. Taken only when a subflow attaches or
//!   detaches and when `/proc/net/lia` is read, never per ACK; namespaces never contend.
//!   A subflow reaches its namespace's registry only while the namespace is alive
//!   (`Net::with_data`); one that outlives it (an orphan) keeps its [`Coupling`] alive
//!   by its own reference and frees it when it detaches.
//! - [`Coupling::state`] (a BH spinlock) protects one connection's [`Connection`]: the
//!   subflow slots and the last alpha. Taken once per ACK by the subflow that received
//!   it; subflows of one connection on different CPUs serialise here, for a few dozen
//!   instructions (a slot update, and a recomputation over at most 16 slots once per RTT).
//! - Lock order: `conns`, then `state`.
//! - A [`Coupling`] is reference counted ([`Arc`]): each attached subflow holds one
//!   reference in its `icsk_ca_priv` and the registry holds one. A subflow that detaches
//!   (`release`, or fallback) removes the entry from the registry, under `conns`, when it
//!   was the last one attached. The memory is thus bounded by one [`Coupling`] per MPTCP
//!   connection using `lia`, and freed when its last subflow stops using `lia`, whether
//!   the MPTCP socket is gone already or not. The key cannot be reused by another
//!   connection while a subflow is attached (see [`ConnKey`]).
//! - A socket's own private data is only touched by its own callbacks, which the TCP stack
//!   serialises.

// The pure files say `pub` because the host crate (host/) exports them.
#[allow(unreachable_pub)]
pub(crate) mod coupling;
#[allow(unreachable_pub)]
pub(crate) mod math;

use core::fmt::Write;
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::Arc;

use crate::sys::cong::{CongestionOps, SharedPriv, CA_LOSS};
use crate::sys::net::{GracePeriod, Net};
use crate::sys::proc::SeqWriter;
use crate::sys::rcu::RcuBox;
use crate::sys::stats::Counters;
use crate::sys::sync::{new_spinlock_bh, SpinLockBh};
use crate::sys::tcp::{ConnKey, TcpSock};
use coupling::{Connection, Increase};
use math::{Sample, ALPHA_SHIFT, ALPHA_UNIT, Z_SHIFT};

counters! {
    /// The counters of `/proc/net/lia_stat`, per network namespace.
    pub(crate) enum Stat {
        /// `lia` initialised on a socket.
        SubflowInit = "LiaSubflowInit",
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
        /// Alpha recomputed.
        AlphaRecomputed = "LiaAlphaRecomputed",
    }
}

/// Per-namespace counters.
pub(crate) type Stats = Counters<{ Stat::COUNT }>;

fn stat(sk: &TcpSock, s: Stat) {
    // A subflow may outlive its namespace's pernet exit (an orphan of a kernel socket),
    // and the counters with it: count only while the namespace lives.
    sk.net()
        .with_data(|data: &crate::NetData| data.lia.stats.inc(s as usize));
}

/// The coupling state of one MPTCP connection.
#[pin_data]
pub(crate) struct Coupling {
    key: ConnKey,
    #[pin]
    state: SpinLockBh<Connection>,
}

/// The couplings of one namespace, by connection.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    conns: SpinLockBh<RBTree<ConnKey, Arc<Coupling>>>,
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
    pub(crate) fn exit(&self, gp: &GracePeriod) {
        drop(self.registry.take_retired(gp));
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
    fn attach(&self, sk: &TcpSock, key: ConnKey) -> Option<(Arc<Coupling>, usize)> {
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
    fn detach(&self, sk: &TcpSock, coupling: Arc<Coupling>, slot: usize) {
        let mut conns = self.conns.lock();
        let remaining = coupling.state.lock().detach(slot);
        if !remaining && conns.remove(&coupling.key).is_some() {
            stat(sk, Stat::ConnFreed);
        }
    }

    /// Writes the couplings as a table (`net`: their namespace).
    fn show(&self, w: &mut SeqWriter, net: &Net) {
        let _ = writeln!(
            w,
            "token    subflows coupled alpha      total_cwnd ai_divisor"
        );
        // Tokens identify connections to the path manager (and MP_JOINs): only for the
        // namespace's administrator.
        let admin = w.opener_net_admin(net);
        let conns = self.conns.lock();
        for c in conns.values() {
            let st = c.state.lock();
            let (coupled, alpha, total, div) = match st.coupled() {
                Some(k) => (
                    k.subflows,
                    k.alpha_fp,
                    k.total_cwnd,
                    k.divisor_fp >> Z_SHIFT,
                ),
                None => (0, 0, 0, 0),
            };
            let frac = ((alpha & (ALPHA_UNIT - 1)) * 10000) >> ALPHA_SHIFT;
            if admin {
                let _ = write!(w, "{:08x}", c.key.token());
            } else {
                let _ = write!(w, "--------");
            }
            let _ = writeln!(
                w,
                " {:8} {:7} {:5}.{:04} {:10} {:10}",
                st.attached(),
                coupled,
                alpha >> ALPHA_SHIFT,
                frac,
                total,
                div
            );
        }
    }
}

/// `icsk_ca_priv` flag: attaching was tried (coupled or not); no retry.
const F_SETTLED: u32 = 1 << 0;

/// The `lia` congestion-control algorithm.
pub(crate) struct Lia;

impl Lia {
    /// Tries to join the coupling of the socket's MPTCP connection.
    fn try_attach(sk: &TcpSock, p: &mut SharedPriv<Coupling>) {
        let Some(sub) = sk.mptcp_subflow() else {
            p.flags |= F_SETTLED;
            stat(sk, Stat::PlainTcp);
            return;
        };
        if sub.fallback {
            p.flags |= F_SETTLED;
            stat(sk, Stat::MptcpFallback);
            return;
        }
        // No registry: the namespace is going away; try again on the next ACK.
        let Some(attached) = with_registry(sk, |reg| reg.attach(sk, sub.conn)) else {
            return;
        };
        match attached {
            Some((coupling, slot)) => {
                p.set(coupling);
                p.slot = slot as u32;
                p.flags |= F_SETTLED;
                stat(sk, Stat::SubflowCoupled);
            }
            None => {
                p.flags |= F_SETTLED;
                stat(sk, Stat::SubflowUncoupled);
            }
        }
    }

    fn detach(sk: &TcpSock, p: &mut SharedPriv<Coupling>) {
        if let Some(coupling) = p.take() {
            // Without the registry (namespace gone) the reference is just dropped.
            with_registry(sk, |reg| reg.detach(sk, coupling, p.slot as usize));
        }
    }

    /// Reports the subflow's window and RTT to its coupling; returns how it increases.
    fn report(sk: &TcpSock, p: &mut SharedPriv<Coupling>) -> Increase {
        if p.flags & F_SETTLED == 0 {
            Self::try_attach(sk, p);
        }
        if p.get().is_none() {
            return Increase::Reno;
        }
        // Fallback, or the subflow lost its MPTCP context (closed before being accepted):
        // leave the coupling for good.
        let Some(sub) = sk.mptcp_subflow().filter(|sub| !sub.fallback) else {
            Self::detach(sk, p);
            stat(sk, Stat::MptcpFallback);
            return Increase::Reno;
        };
        let Some(coupling) = p.get() else {
            return Increase::Reno;
        };
        let sample = Sample {
            cwnd: sk.cwnd(),
            rtt_us: sk.srtt_us(),
        };
        let active = sk.can_send() && !sub.stale;
        let upd = coupling
            .state
            .lock()
            .update(p.slot as usize, sample, active);
        if upd.recomputed {
            stat(sk, Stat::AlphaRecomputed);
        }
        upd.increase
    }

    /// A loss, an undo or a timeout set the subflow's window to `cwnd`: alpha is due.
    fn window_changed(sk: &TcpSock, p: &SharedPriv<Coupling>, cwnd: u32) {
        if let Some(coupling) = p.get() {
            let active = Self::can_carry_data(sk);
            coupling.state.lock().loss(p.slot as usize, cwnd, active);
        }
    }

    /// Whether the subflow takes part in the coupling now: established and not marked
    /// stale by the MPTCP stack (see `coupling`'s "Which subflows are coupled").
    fn can_carry_data(sk: &TcpSock) -> bool {
        sk.can_send() && sk.mptcp_subflow().is_some_and(|sub| !sub.stale)
    }
}

impl CongestionOps for Lia {
    type Priv = SharedPriv<Coupling>;
    const NAME: &'static CStr = kernel::c_str!("lia");

    fn init(sk: &TcpSock, p: &mut Self::Priv) {
        p.reset();
        stat(sk, Stat::SubflowInit);
        Self::try_attach(sk, p);
    }

    fn release(sk: &TcpSock, p: &mut Self::Priv) {
        Self::detach(sk, p);
    }

    fn ssthresh(sk: &TcpSock, p: &mut Self::Priv) -> u32 {
        let ssthresh = sk.reno_ssthresh();
        Self::window_changed(sk, p, ssthresh);
        ssthresh
    }

    fn undo_cwnd(sk: &TcpSock, p: &mut Self::Priv) -> u32 {
        let cwnd = sk.reno_undo_cwnd();
        Self::window_changed(sk, p, cwnd);
        cwnd
    }

    fn cong_avoid(sk: &TcpSock, p: &mut Self::Priv, _ack: u32, acked: u32) {
        // Report first, so the other subflows see this one's window even when it does not
        // grow (application limited).
        let increase = Self::report(sk, p);
        if !sk.is_cwnd_limited() {
            return;
        }
        let mut acked = acked;
        if sk.in_slow_start() {
            acked = sk.slow_start(acked);
            if acked == 0 {
                return;
            }
        }
        // The window may have grown in slow start since the report: never less than it,
        // or the increase would exceed Reno's on this path.
        let w = match increase {
            Increase::Coupled(d) => d.max(sk.cwnd()),
            Increase::Reno => sk.cwnd(),
        };
        sk.cong_avoid_ai(w, acked);
    }

    fn set_state(sk: &TcpSock, p: &mut Self::Priv, new_state: u8) {
        // After a timeout the window is what is in flight (often 1): the others must see
        // it now, and later timeouts of a dead path do not call `ssthresh` again.
        if new_state == CA_LOSS {
            Self::window_changed(sk, p, sk.cwnd());
        }
    }
}

/// `/proc/net/lia`: the couplings of the namespace.
pub(crate) fn show_conns(w: &mut SeqWriter, net: &Net) {
    if let Some(data) = net.data::<crate::NetData>() {
        data.lia.with_registry(|reg| reg.show(w, net));
    }
}

/// `/proc/net/lia_stat`: the namespace's counters, one `Name Value` per line.
pub(crate) fn show_stats(w: &mut SeqWriter, net: &Net) {
    if let Some(data) = net.data::<crate::NetData>() {
        for &s in Stat::ALL {
            let _ = writeln!(w, "{:<24}{}", s.name(), data.lia.stats.get(s as usize));
        }
    }
}
