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
//! Not on every ACK. In congestion avoidance a window grows by at most one packet per
//! RTT, so `alpha` moves by O(1/w) per RTT and recomputing more often changes nothing but
//! the cost. The coupling is recomputed on the first update after
//!
//! - the smallest RTT among the coupled subflows has elapsed since the last computation
//!   (so a subflow in slow start, doubling per RTT, is tracked within a factor of two), or
//! - something that moves `alpha` at once: a subflow attached, detached, became able or
//!   unable to send, or reported a loss (its window halves).
//!
//! A subflow that has not reported for [`SILENT_US`] plus twice its RTT (a dead path in
//! repeated timeouts gets no ACKs, so it cannot say its window collapsed) is left out of
//! the computation, so it does not inflate the others' windows with a window it no
//! longer has.

use super::math::{ai_divisor, couple, Coupled, Sample, MAX_SUBFLOWS, RTT_MIN_US};

/// Slack before a silent subflow is left out of the coupling, us (on top of 2 RTTs).
pub const SILENT_US: u64 = 200_000;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The slot belongs to a subflow.
    used: bool,
    /// The subflow is established and can send: only those are coupled.
    active: bool,
    /// Its last reported window and RTT.
    sample: Sample,
    /// When it last reported, us.
    last_us: u64,
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
    /// Something changed that moves alpha at once.
    dirty: bool,
    /// Time (us, any monotonic clock) after which the next update recomputes.
    next_update_us: u64,
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

    /// A subflow reports a loss (or an undo): its window becomes `new_cwnd` and alpha is
    /// recomputed on the next update. `now_us` as for [`Connection::update`].
    pub fn loss(&mut self, idx: usize, new_cwnd: u32, now_us: u64) {
        if let Some(slot) = self.slots.get_mut(idx).filter(|s| s.used) {
            slot.sample.cwnd = new_cwnd;
            slot.last_us = now_us;
            self.dirty = true;
        }
    }

    /// A subflow reports its window and RTT on an ACK, and whether it can send; returns
    /// how it increases its window. `now_us` is a monotonic time in microseconds.
    pub fn update(&mut self, idx: usize, sample: Sample, active: bool, now_us: u64) -> Update {
        let Some(slot) = self.slots.get_mut(idx).filter(|s| s.used) else {
            return Update {
                increase: Increase::Reno,
                recomputed: false,
            };
        };
        if slot.active != active {
            self.dirty = true;
        }
        slot.active = active;
        slot.sample = sample;
        slot.last_us = now_us;

        let recomputed = self.dirty || self.coupled.is_none() || now_us >= self.next_update_us;
        if recomputed {
            self.recompute(now_us);
        }
        // A subflow left out of the computation (it cannot send right now) still grows no
        // faster than the coupled ones.
        let increase = match self.coupled {
            Some(c) if c.subflows >= 2 => Increase::Coupled(ai_divisor(&c, sample.cwnd)),
            _ => Increase::Reno,
        };
        Update {
            increase,
            recomputed,
        }
    }

    fn recompute(&mut self, now_us: u64) {
        let live = |s: &&Slot| {
            let quiet = now_us.saturating_sub(s.last_us);
            quiet <= SILENT_US + 2 * s.sample.rtt_us as u64
        };
        let active = self
            .slots
            .iter()
            .filter(|s| s.used && s.active)
            .filter(live);
        self.coupled = couple(active.clone().map(|s| s.sample));
        let min_rtt = active
            .map(|s| s.sample.rtt_us)
            .filter(|&r| r > 0)
            .min()
            .unwrap_or(0)
            .max(RTT_MIN_US);
        self.next_update_us = now_us.saturating_add(min_rtt as u64);
        self.dirty = false;
    }

    /// The last computed coupling, for reporting (`None` before the first one).
    pub fn coupled(&self) -> Option<Coupled> {
        self.coupled
    }
}
