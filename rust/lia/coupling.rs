// SPDX-License-Identifier: GPL-2.0

//! The coupling state of one MPTCP connection: a slot per subflow holding its last window
//! and RTT, and the policy deciding when the coupling ([`Coupled`]) is recomputed.
//!
//! Pure: no kernel imports and no locking. The kernel side keeps one [`Connection`] per
//! MPTCP connection behind a lock (see `lia/mod.rs` for what protects what); the host
//! tests drive it directly.
//!
//! # When the coupling is recomputed
//!
//! Whenever one of its inputs changed: the reporting subflow's window or RTT differs
//! from what it last reported, or a subflow attached, detached, became able or unable
//! to send, or reported a loss or an undo (its new window). A peer's window and RTT only
//! change on its own ACKs and loss events, which it reports as they happen, so every
//! increase is computed from the current windows and RTTs of all coupled subflows, as
//! RFC 6356 defines it, and never from an older state (a peer in slow start doubles its
//! window every RTT: a coupling computed once per RTT could lag by 2x and be up to 2x
//! more aggressive than the RFC). The cost is one pass over at most [`MAX_SUBFLOWS`]
//! slots per ACK that moved a window or an RTT.
//!
//! # Which subflows are coupled
//!
//! RFC 6356 couples all subflows of a connection. A subflow is left out only while it
//! cannot carry data: not yet established or closing, or marked *stale* by the MPTCP
//! stack (`mptcp_subflow_context.stale`: `net.mptcp.stale_loss_cnt` retransmission
//! timeouts without progress while other subflows work; the scheduler no longer sends
//! on it). Each subflow says whether it can carry data with every report. A subflow in
//! loss recovery stays coupled however long the recovery lasts (it gets no
//! congestion-avoidance callbacks then, but its window is current: the loss reported it);
//! after a retransmission timeout its window is what is in flight, usually one packet,
//! and reported as such.

use super::math::{ai_divisor, couple, Coupled, Sample, MAX_SUBFLOWS};
use super::olia::{self, Path};

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The slot belongs to a subflow.
    used: bool,
    /// The subflow can carry data (established, not stale): only those are coupled.
    active: bool,
    /// Its last reported window and RTT.
    sample: Sample,
    /// Its inter-loss distance, bytes (`olia` only).
    distance: u32,
}

/// How a subflow grows its window in congestion avoidance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Increase {
    /// Fewer than two coupled subflows: plain Reno (`tcp_cong_avoid_ai(tp, cwnd)`).
    Reno,
    /// Coupled: one packet every `divisor` acked packets.
    Coupled(u32),
}

/// The result of [`Connection::update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Update {
    /// How the reporting subflow increases its window.
    pub increase: Increase,
    /// The coupling was recomputed by this update.
    pub recomputed: bool,
}

/// The coupling state of one MPTCP connection.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    slots: [Slot; MAX_SUBFLOWS],
    /// The last computation; `None` before the first one.
    coupled: Option<Coupled>,
    /// An input changed since the last computation.
    dirty: bool,
    /// How many times the coupling was computed.
    computed: u64,
}

impl Connection {
    /// A connection with no subflows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives a new subflow a slot; `None` when all [`MAX_SUBFLOWS`] are taken (that
    /// subflow then runs uncoupled).
    pub fn attach(&mut self) -> Option<usize> {
        let idx = self.slots.iter().position(|s| !s.used)?;
        self.slots[idx] = Slot {
            used: true,
            ..Slot::default()
        };
        self.dirty = true;
        Some(idx)
    }

    /// Frees a subflow's slot. Returns whether any subflow is still attached.
    pub fn detach(&mut self, idx: usize) -> bool {
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Slot::default();
            self.dirty = true;
        }
        self.slots.iter().any(|s| s.used)
    }

    /// Number of attached subflows.
    pub fn attached(&self) -> usize {
        self.slots.iter().filter(|s| s.used).count()
    }

    /// A subflow reports a loss, an undo or a timeout: its window becomes `new_cwnd`, and
    /// whether it can carry data; the next update recomputes.
    pub fn loss(&mut self, idx: usize, new_cwnd: u32, active: bool) {
        if let Some(slot) = self.slots.get_mut(idx).filter(|s| s.used) {
            slot.sample.cwnd = new_cwnd;
            slot.active = active;
            self.dirty = true;
        }
    }

    /// A subflow reports its window and RTT on an ACK, and whether it can carry data;
    /// returns how it increases its window.
    pub fn update(&mut self, idx: usize, sample: Sample, active: bool) -> Update {
        let Some(slot) = self.slots.get_mut(idx).filter(|s| s.used) else {
            return Update {
                increase: Increase::Reno,
                recomputed: false,
            };
        };
        if slot.active != active || slot.sample != sample {
            self.dirty = true;
        }
        slot.active = active;
        slot.sample = sample;

        let recomputed = self.dirty || self.coupled.is_none();
        if recomputed {
            self.coupled = couple(
                self.slots
                    .iter()
                    .filter(|s| s.used && s.active)
                    .map(|s| s.sample),
            );
            self.dirty = false;
            self.computed += 1;
        }
        // A subflow left out of the computation (it cannot carry data right now) still
        // grows no faster than the coupled ones.
        let increase = match self.coupled {
            Some(c) if c.subflows >= 2 => Increase::Coupled(ai_divisor(&c, sample.cwnd)),
            _ => Increase::Reno,
        };
        Update {
            increase,
            recomputed,
        }
    }

    /// `olia`: a subflow reports its window, RTT and inter-loss distance on an ACK, and
    /// whether it can carry data; returns the change of its window per acknowledged
    /// packet ([`olia::increase`], units of 2^-32 packets), `None` when it does not take
    /// part (it cannot carry data, or has no RTT yet). Computed from the current reports
    /// of all subflows every time: OLIA's `alpha` depends on which windows are largest,
    /// which a single ACK can change.
    pub fn update_olia(
        &mut self,
        idx: usize,
        sample: Sample,
        distance: u32,
        active: bool,
    ) -> Option<i64> {
        let slot = self.slots.get_mut(idx).filter(|s| s.used)?;
        slot.sample = sample;
        slot.distance = distance;
        slot.active = active;
        if !active {
            return None;
        }
        let mut paths = [Path::default(); MAX_SUBFLOWS];
        let (mut n, mut me) = (0, None);
        for (i, s) in self.slots.iter().enumerate() {
            if s.used && s.active {
                if i == idx {
                    me = Some(n);
                }
                paths[n] = Path {
                    sample: s.sample,
                    distance: s.distance,
                };
                n += 1;
            }
        }
        olia::increase(&paths[..n], me?)
    }

    /// How many times the coupling was computed (`lia`).
    pub fn computed(&self) -> u64 {
        self.computed
    }

    /// The number of subflows taking part now (`olia`'s report).
    pub fn active(&self) -> usize {
        self.slots.iter().filter(|s| s.used && s.active).count()
    }

    /// The last computed coupling, for reporting (`None` before the first one).
    pub fn coupled(&self) -> Option<Coupled> {
        self.coupled
    }
}
