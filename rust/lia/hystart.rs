// SPDX-License-Identifier: GPL-2.0

//! HyStart++ (RFC 9406, Balasubramanian, Huang, Olteanu: "HyStart++: Modified Slow Start
//! for TCP"): the slow start of `lia` and `olia`, which leaves the initial slow start when
//! the RTT starts to grow instead of when the bottleneck's queue overflows.
//!
//! Pure: no kernel imports, so `host/` builds this file too and tests it.
//!
//! # Why
//!
//! RFC 6356 leaves slow start to standard TCP. A Reno slow start doubles the window each
//! round until a loss: behind a large queue (netem's `limit` counts GSO packets of up to
//! 64 KB, so "50 packets" can hold megabytes) it ends with windows of well over a thousand
//! packets and hundreds of them lost at once. An MPTCP connection suffers more than one
//! TCP flow from that: while one subflow retransmits its burst of losses, the data behind
//! the holes fills the connection-level receive window and the other subflows run dry.
//! CUBIC avoids it with its own HyStart; HyStart++ is the standard form of the same idea.
//!
//! # The algorithm (RFC 9406 section 4)
//!
//! A *round* ends when the sequence number `window_end`, the `snd_nxt` of the round's
//! start, is acknowledged: the first ACK with `snd_una` after it starts the next round. In each round the smallest RTT sample is kept (`cur_min_us`), and the previous
//! round's (`last_min_us`).
//!
//! - Standard slow start: once the round has [`N_RTT_SAMPLE`] samples, if
//!   `cur_min_us >= last_min_us + thresh` with
//!   `thresh = clamp(last_min_us / MIN_RTT_DIVISOR, MIN_RTT_THRESH_US, MAX_RTT_THRESH_US)`,
//!   the queue is building: enter Conservative Slow Start (CSS), remembering
//!   `cur_min_us` as the baseline.
//! - CSS: the window grows by a quarter of the acknowledged packets
//!   ([`CSS_GROWTH_DIVISOR`]). If a round with [`N_RTT_SAMPLE`] samples sees an RTT
//!   below the baseline, the rise was spurious: back to standard slow start. After
//!   [`CSS_ROUNDS`] rounds in CSS, slow start ends: the caller sets `ssthresh` to the
//!   window and congestion avoidance (the coupled increase) takes over.
//! - Not in RFC 9406: slow start also ends in CSS as soon as a round with
//!   [`N_RTT_SAMPLE`] samples has its minimum a second threshold above the baseline
//!   (`cur_min_us >= baseline + thresh(baseline)`). The RFC's CSS guards against a rise
//!   that was noise, and noise does not go on rising; a queue that keeps growing by a
//!   threshold within CSS is confirmed, and five rounds of CSS on it only add queue. On
//!   paths whose base RTT is far below the queue's delay (veths with a netem rate, the
//!   upstream `simult_flows.sh`: under 1 ms of base RTT, hundreds of milliseconds of
//!   queue) the RTT of each CSS round is the previous one's plus its growth, and five of
//!   them overflowed the queue with a window three times the one CSS began with. Behind
//!   a FIFO, CSS now lasts about one round: its baseline comes from packets sent at half
//!   the window, so the first CSS round is a threshold above it already.
//! - A loss ends slow start as usual (`ssthresh` from the loss response). HyStart++ runs
//!   only in the initial slow start, while `ssthresh` is still "infinite" (RFC 9406
//!   section 4.3): later slow starts stop at the `ssthresh` the losses left.
//!
//! RFC 9406's limit `L` on the packets one ACK may add in slow start is not applied:
//! Linux's `tcp_slow_start()` counts every acknowledged packet, for Reno and CUBIC
//! alike, and `lia` and `olia` grow as Reno does until HyStart++ acts.
//!
//! The caller starts the state afresh on a restart after idle (the window shrinks while
//! an "infinite" `ssthresh` stays so), and keeps it across a loss that is undone.
//!
//! # Sequence numbers
//!
//! `window_end` and `snd_una` are compared modulo 2^32 (`before()`/`after()` of the TCP
//! stack), so a round across the wrap of the sequence space ends where it should.

/// Samples a round needs before its minimum RTT is compared.
pub const N_RTT_SAMPLE: u32 = 8;
/// The delay threshold is the last round's minimum RTT divided by this...
pub const MIN_RTT_DIVISOR: u32 = 8;
/// ...but at least this, microseconds...
pub const MIN_RTT_THRESH_US: u32 = 4_000;
/// ...and at most this, microseconds.
pub const MAX_RTT_THRESH_US: u32 = 16_000;
/// In CSS the window grows by the acknowledged packets divided by this.
pub const CSS_GROWTH_DIVISOR: u32 = 4;
/// Rounds in CSS before slow start ends.
pub const CSS_ROUNDS: u32 = 5;

/// No RTT seen (yet) in a round.
const NONE: u32 = u32::MAX;

/// What the slow start does with the ACKs of a subflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Standard slow start: the window grows by the acknowledged packets.
    Standard,
    /// Conservative slow start: it grows by a [`CSS_GROWTH_DIVISOR`]th of them.
    Conservative,
}

/// What an ACK changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing to report.
    None,
    /// The RTT rose by the threshold: CSS entered.
    EnterCss,
    /// An RTT below CSS's baseline: back to standard slow start.
    Spurious,
    /// [`CSS_ROUNDS`] rounds of CSS are over: slow start ends (set `ssthresh` to the
    /// window).
    Exit,
    /// The RTT rose by a second threshold in CSS (not in RFC 9406, see the module
    /// doc): slow start ends as on [`Event::Exit`].
    ExitOnRise,
}

/// The delay threshold for a minimum RTT of `min_us`.
fn threshold(min_us: u32) -> u32 {
    (min_us / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH_US, MAX_RTT_THRESH_US)
}

/// `a` is after `b` in sequence space (`after()`).
fn after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

/// The HyStart++ state of one subflow. All zero (as the kernel hands over a socket's
/// private area) is "not started": the first ACK starts the first round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HyStart {
    /// The sequence number that ends the current round (`snd_nxt` at its start).
    window_end: u32,
    /// Smallest RTT of the last complete round, microseconds, or `NONE`.
    last_min_us: u32,
    /// Smallest RTT of the current round so far, microseconds, or `NONE`.
    cur_min_us: u32,
    /// CSS's baseline RTT (`cssBaselineMinRtt`), microseconds; `NONE` outside CSS.
    baseline_us: u32,
    /// RTT samples in the current round (saturating).
    samples: u16,
    /// Rounds ended in CSS, the one it began in included.
    css_rounds: u8,
    /// Whether a round has started.
    started: bool,
}

impl HyStart {
    /// A subflow's state before its first ACK.
    pub const fn new() -> Self {
        Self {
            window_end: 0,
            last_min_us: 0,
            cur_min_us: 0,
            baseline_us: 0,
            samples: 0,
            css_rounds: 0,
            started: false,
        }
    }

    /// The state as plain words, for a socket's private area (all zero: [`Self::new`]).
    pub fn parts(&self) -> [u32; 5] {
        [
            self.window_end,
            self.last_min_us,
            self.cur_min_us,
            self.baseline_us,
            u32::from(self.samples)
                | u32::from(self.css_rounds) << 16
                | u32::from(self.started) << 24,
        ]
    }

    /// The state from [`Self::parts`].
    pub fn from_parts(w: [u32; 5]) -> Self {
        Self {
            window_end: w[0],
            last_min_us: w[1],
            cur_min_us: w[2],
            baseline_us: w[3],
            samples: w[4] as u16,
            css_rounds: (w[4] >> 16) as u8,
            started: w[4] >> 24 & 1 != 0,
        }
    }

    /// The slow start's phase now.
    pub fn phase(&self) -> Phase {
        if self.started && self.baseline_us != NONE {
            Phase::Conservative
        } else {
            Phase::Standard
        }
    }

    /// Starts a round: `snd_nxt` ends it.
    fn new_round(&mut self, snd_nxt: u32) {
        self.last_min_us = self.cur_min_us;
        self.cur_min_us = NONE;
        self.samples = 0;
        self.window_end = snd_nxt;
    }

    /// An ACK in the initial slow start: `snd_una` and `snd_nxt` after it, and its RTT
    /// sample if it gave one. Returns what changed; on [`Event::Exit`] and
    /// [`Event::ExitOnRise`] the state is that of a fresh start.
    pub fn on_ack(&mut self, snd_una: u32, snd_nxt: u32, rtt_us: Option<u32>) -> Event {
        if !self.started {
            self.started = true;
            self.cur_min_us = NONE;
            self.baseline_us = NONE;
            self.css_rounds = 0;
            self.new_round(snd_nxt);
            self.last_min_us = NONE;
        } else if after(snd_una, self.window_end) {
            // `window_end` itself is acknowledged: this ACK starts the next round.
            self.new_round(snd_nxt);
            if self.baseline_us != NONE {
                self.css_rounds = self.css_rounds.saturating_add(1);
                if u32::from(self.css_rounds) >= CSS_ROUNDS {
                    *self = Self::new();
                    return Event::Exit;
                }
            }
        }
        let Some(rtt) = rtt_us else {
            return Event::None;
        };
        self.cur_min_us = self.cur_min_us.min(rtt);
        self.samples = self.samples.saturating_add(1);
        if u32::from(self.samples) < N_RTT_SAMPLE {
            return Event::None;
        }
        if self.baseline_us == NONE {
            if self.last_min_us == NONE {
                return Event::None;
            }
            if self.cur_min_us >= self.last_min_us.saturating_add(threshold(self.last_min_us)) {
                self.baseline_us = self.cur_min_us;
                self.css_rounds = 0;
                return Event::EnterCss;
            }
        } else if self.cur_min_us < self.baseline_us {
            self.baseline_us = NONE;
            self.css_rounds = 0;
            return Event::Spurious;
        } else if self.cur_min_us >= self.baseline_us.saturating_add(threshold(self.baseline_us)) {
            // The rise goes on: a second threshold's worth above the baseline, the queue
            // is real. Slow start ends now rather than after the remaining CSS rounds.
            *self = Self::new();
            return Event::ExitOnRise;
        }
        Event::None
    }
}
