// SPDX-License-Identifier: GPL-2.0

//! The two coupled algorithms as `tcp_congestion_ops`: `lia` (RFC 6356) and `olia`
//! (Khalili et al.). Both use the same coupling framework: a subflow joins its
//! connection's [`Coupling`] in its namespace's registry on its first callback, reports
//! its window, RTT and whether it can carry data, and leaves on release or fallback.

use kernel::prelude::*;

use super::coupling::Increase;
use super::hystart::{self, HyStart, Phase};
use super::math::Sample;
use super::olia::{self, Intervals};
use super::{stat, with_registry, Alg, Coupling, Stat};
use crate::sys::cong::{AckSample, CaEvent, CongestionOps, SharedPriv, CA_LOSS};
use crate::sys::tcp::{Subflow, TcpSock};

/// `icsk_ca_priv` flag: attaching was tried (coupled or not); no retry.
const F_SETTLED: u32 = 1 << 0;

/// Tries to join the coupling of the socket's MPTCP connection for `alg`.
fn try_attach(sk: &TcpSock, p: &mut SharedPriv<Coupling>, alg: Alg) {
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
    let Some(attached) = with_registry(sk, |reg| reg.attach(sk, (sub.conn, alg))) else {
        return;
    };
    p.flags |= F_SETTLED;
    match attached {
        Some((coupling, slot)) => {
            p.set(coupling);
            p.slot = slot as u32;
            stat(sk, Stat::SubflowCoupled);
        }
        None => stat(sk, Stat::SubflowUncoupled),
    }
}

/// Leaves the coupling, if attached.
fn detach(sk: &TcpSock, p: &mut SharedPriv<Coupling>) {
    if let Some(coupling) = p.take() {
        let slot = p.slot as usize;
        // Without the registry (the namespace is gone) only the slot is freed; the
        // coupling goes with its last reference.
        let in_registry = with_registry(sk, |reg| reg.detach(sk, &coupling, slot));
        if in_registry.is_none() {
            coupling.state.lock().detach(slot);
        }
    }
}

/// The socket's MPTCP side, once it is a member of a coupling (joining on the first
/// call); `None` for a plain TCP socket, a subflow that could not join, or one whose
/// connection fell back to TCP (it leaves the coupling for good).
fn member(sk: &TcpSock, p: &mut SharedPriv<Coupling>, alg: Alg) -> Option<Subflow> {
    if p.flags & F_SETTLED == 0 {
        try_attach(sk, p, alg);
    }
    p.get()?;
    match sk.mptcp_subflow().filter(|sub| !sub.fallback) {
        Some(sub) => Some(sub),
        None => {
            detach(sk, p);
            stat(sk, Stat::MptcpFallback);
            None
        }
    }
}

/// Whether a subflow takes part in the coupling: established, not marked stale by the
/// MPTCP stack, and not a backup (the scheduler sends on a backup subflow only while no
/// other one can: then it is alone and Reno anyway; while idle, its old window must not
/// weigh on the others).
fn takes_part(sk: &TcpSock, sub: &Subflow) -> bool {
    sk.can_send() && !sub.stale && !sub.backup
}

/// A loss, an undo or a timeout set the subflow's window to `cwnd`: the coupling is due.
fn window_changed(sk: &TcpSock, p: &SharedPriv<Coupling>, cwnd: u32) {
    if let Some(coupling) = p.get() {
        let active = sk.mptcp_subflow().is_some_and(|sub| takes_part(sk, &sub));
        coupling.state.lock().loss(p.slot as usize, cwnd, active);
    }
}

/// The subflow's window and RTT now.
fn sample(sk: &TcpSock) -> Sample {
    Sample {
        cwnd: sk.cwnd(),
        rtt_us: sk.srtt_us(),
    }
}

/// The HyStart++ state of a subflow, as words of its private area.
type SlowStart = [u32; 5];

/// An ACK during slow start: HyStart++ (see [`hystart`]) follows the RTT of the initial
/// slow start, and ends it (`ssthresh` set to the window) after the RTT rose and five
/// rounds of conservative growth, or sooner if the RTT kept rising. Not during loss
/// recovery (after an undo restored the initial `ssthresh` in recovery, the stack's
/// window reduction aims at it).
fn slow_start_ack(sk: &TcpSock, ss: &mut SlowStart, sample: AckSample) {
    if !sk.in_initial_slow_start() || !sk.ca_open() {
        return;
    }
    let mut hs = HyStart::from_parts(*ss);
    match hs.on_ack(sk.snd_una(), sk.snd_nxt(), sample.rtt_us) {
        hystart::Event::None => {}
        hystart::Event::EnterCss => stat(sk, Stat::HyStartCss),
        hystart::Event::Spurious => stat(sk, Stat::HyStartSpurious),
        e @ (hystart::Event::Exit | hystart::Event::ExitOnRise) => {
            sk.set_ssthresh(sk.cwnd().max(2));
            stat(sk, Stat::HyStartExit);
            if e == hystart::Event::ExitOnRise {
                stat(sk, Stat::HyStartRiseExit);
            }
        }
    }
    *ss = hs.parts();
}

/// A new connection, or a restart after idle (the window shrinks, `ssthresh` becomes at
/// least 3/4 of the old window and so stays "infinite" if it was: slow start with
/// HyStart++ begins again, RFC 9406 4.3). Not a loss: a loss sets a finite `ssthresh`,
/// which ends HyStart++ for good, unless the loss is undone (the retransmission was
/// spurious, seen by DSACK or timestamps), and then nothing happened that HyStart++ must
/// forget: it goes on where it was, in CSS if it was there.
fn slow_start_reset(ss: &mut SlowStart) {
    *ss = HyStart::new().parts();
}

/// Slow start where it applies: Reno's (`tcp_slow_start()`), or a quarter of that in
/// HyStart++'s conservative phase; returns the acked packets left for congestion
/// avoidance.
fn slow_start(sk: &TcpSock, ss: &SlowStart, acked: u32) -> u32 {
    if !sk.is_cwnd_limited() || !sk.in_slow_start() {
        return acked;
    }
    if sk.in_initial_slow_start() && HyStart::from_parts(*ss).phase() == Phase::Conservative {
        sk.cong_avoid_ai(hystart::CSS_GROWTH_DIVISOR, acked);
        return 0;
    }
    sk.slow_start(acked)
}

/// `lia`'s private data of a subflow.
#[derive(Zeroable)]
pub(crate) struct LiaPriv {
    member: SharedPriv<Coupling>,
    slow_start: SlowStart,
}

/// The `lia` congestion-control algorithm.
pub(crate) struct Lia;

impl Lia {
    /// Reports the subflow's window and RTT to its coupling; returns how it increases.
    fn report(sk: &TcpSock, p: &mut SharedPriv<Coupling>) -> Increase {
        let Some(sub) = member(sk, p, Alg::Lia) else {
            return Increase::Reno;
        };
        let Some(coupling) = p.get() else {
            return Increase::Reno;
        };
        let active = takes_part(sk, &sub);
        coupling
            .state
            .lock()
            .update(p.slot as usize, sample(sk), active)
            .increase
    }
}

impl CongestionOps for Lia {
    type Priv = LiaPriv;
    const NAME: &'static CStr = kernel::c_str!("lia");

    fn init(sk: &TcpSock, p: &mut Self::Priv) {
        p.member.reset();
        slow_start_reset(&mut p.slow_start);
        stat(sk, Stat::SubflowInit);
        try_attach(sk, &mut p.member, Alg::Lia);
    }

    fn release(sk: &TcpSock, p: &mut Self::Priv) {
        detach(sk, &mut p.member);
    }

    fn ssthresh(sk: &TcpSock, p: &mut Self::Priv) -> u32 {
        let ssthresh = sk.reno_ssthresh();
        window_changed(sk, &p.member, ssthresh);
        ssthresh
    }

    fn undo_cwnd(sk: &TcpSock, p: &mut Self::Priv) -> u32 {
        let cwnd = sk.reno_undo_cwnd();
        window_changed(sk, &p.member, cwnd);
        cwnd
    }

    fn pkts_acked(sk: &TcpSock, p: &mut Self::Priv, sample: AckSample) {
        slow_start_ack(sk, &mut p.slow_start, sample);
    }

    fn cwnd_event(_sk: &TcpSock, p: &mut Self::Priv, ev: CaEvent) {
        if ev == CaEvent::CwndRestart {
            slow_start_reset(&mut p.slow_start);
        }
    }

    fn cong_avoid(sk: &TcpSock, p: &mut Self::Priv, _ack: u32, acked: u32) {
        // Grow in slow start first, then report, so the other subflows see this one's
        // window as it is now (also when it does not grow: application limited).
        let acked = slow_start(sk, &p.slow_start, acked);
        let increase = Self::report(sk, &mut p.member);
        if !sk.is_cwnd_limited() || sk.in_slow_start() || acked == 0 {
            return;
        }
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
            window_changed(sk, &p.member, sk.cwnd());
        }
    }
}

/// `olia`'s private data of a subflow.
#[derive(Zeroable)]
pub(crate) struct OliaPriv {
    member: SharedPriv<Coupling>,
    /// Progress towards the next window change, 2^-32 packets.
    acc: i64,
    /// [`Intervals`], as `snd_una` at the loss before the last one and at the last one.
    loss_prev: u32,
    loss_last: u32,
    slow_start: SlowStart,
}

impl OliaPriv {
    fn intervals(&self) -> Intervals {
        Intervals::from_parts(self.loss_prev, self.loss_last)
    }

    fn set_intervals(&mut self, i: Intervals) {
        (self.loss_prev, self.loss_last) = i.parts();
    }

    /// A loss event at the socket's current `snd_una`.
    fn loss(&mut self, sk: &TcpSock) {
        let mut i = self.intervals();
        i.loss(sk.snd_una());
        self.set_intervals(i);
    }
}

/// The `olia` congestion-control algorithm.
pub(crate) struct Olia;

impl CongestionOps for Olia {
    type Priv = OliaPriv;
    const NAME: &'static CStr = kernel::c_str!("olia");

    fn init(sk: &TcpSock, p: &mut Self::Priv) {
        p.member.reset();
        p.acc = 0;
        p.set_intervals(Intervals::new(sk.snd_una()));
        slow_start_reset(&mut p.slow_start);
        stat(sk, Stat::OliaSubflowInit);
        try_attach(sk, &mut p.member, Alg::Olia);
    }

    fn release(sk: &TcpSock, p: &mut Self::Priv) {
        detach(sk, &mut p.member);
    }

    fn ssthresh(sk: &TcpSock, p: &mut Self::Priv) -> u32 {
        p.loss(sk);
        p.acc = 0;
        let ssthresh = sk.reno_ssthresh();
        window_changed(sk, &p.member, ssthresh);
        ssthresh
    }

    fn undo_cwnd(sk: &TcpSock, p: &mut Self::Priv) -> u32 {
        let cwnd = sk.reno_undo_cwnd();
        window_changed(sk, &p.member, cwnd);
        cwnd
    }

    fn pkts_acked(sk: &TcpSock, p: &mut Self::Priv, sample: AckSample) {
        slow_start_ack(sk, &mut p.slow_start, sample);
    }

    fn cwnd_event(_sk: &TcpSock, p: &mut Self::Priv, ev: CaEvent) {
        if ev == CaEvent::CwndRestart {
            slow_start_reset(&mut p.slow_start);
        }
    }

    fn cong_avoid(sk: &TcpSock, p: &mut Self::Priv, _ack: u32, acked: u32) {
        let acked = slow_start(sk, &p.slow_start, acked);
        let Some(sub) = member(sk, &mut p.member, Alg::Olia) else {
            if sk.is_cwnd_limited() && !sk.in_slow_start() && acked > 0 {
                sk.cong_avoid_ai(sk.cwnd(), acked);
            }
            return;
        };
        let distance = p.intervals().distance(sk.snd_una());
        let active = takes_part(sk, &sub);
        let inc = p.member.get().and_then(|c| {
            c.state
                .lock()
                .update_olia(p.member.slot as usize, sample(sk), distance, active)
        });
        if !sk.is_cwnd_limited() || sk.in_slow_start() || acked == 0 {
            return;
        }
        match inc {
            Some(inc) => {
                let (cwnd, acc) = olia::step(sk.cwnd(), p.acc, inc, acked, sk.cwnd_clamp());
                p.acc = acc;
                sk.set_cwnd(cwnd);
            }
            // Not taking part (no RTT yet, closing, stale, backup): Reno.
            None => sk.cong_avoid_ai(sk.cwnd(), acked),
        }
    }

    fn set_state(sk: &TcpSock, p: &mut Self::Priv, new_state: u8) {
        // The loss event itself is recorded in `ssthresh`, which a timeout that starts a
        // new reduction calls too; a timeout during recovery (no new reduction) or a loss
        // state that is not congestion (a PMTU change) is not a new loss event.
        if new_state == CA_LOSS {
            window_changed(sk, &p.member, sk.cwnd());
        }
    }
}
