// SPDX-License-Identifier: GPL-2.0

//! The arithmetic of OLIA, the Opportunistic Linked Increases Algorithm (Khalili, Gast,
//! Popovic, Le Boudec, "MPTCP is not Pareto-optimal: performance issues and a possible
//! solution", CoNEXT 2012 and IEEE/ACM ToN 2013), in fixed point.
//!
//! Pure: no kernel imports, so `host/` builds this file too and tests it against a
//! floating-point model of the paper's equations.
//!
//! # The model
//!
//! For the subflows `r` of one MPTCP connection that can carry data (`n` of them), with
//! window `w_r` (packets) and smoothed RTT `rtt_r`, each ACK of one packet on subflow `r`
//! in congestion avoidance changes `w_r` by
//!
//! ```text
//!     (w_r / rtt_r^2) / (sum_p w_p / rtt_p)^2  +  alpha_r / w_r
//! ```
//!
//! and a loss halves `w_r` (Reno's response). The first term alone couples like LIA with
//! perfect resource pooling; `alpha_r` moves window opportunistically from the subflows
//! with the largest windows to the ones that look best but are not yet used as such:
//!
//! - `l_r`, the *inter-loss distance*: the bytes acknowledged between the subflow's last
//!   two losses, or since its last loss if that is more ([`Intervals`]). A TCP flow on
//!   path `r` would get a throughput proportional to `sqrt(l_r) / rtt_r`, so
//! - the best paths `B` are the subflows with the largest `l_r / rtt_r^2`;
//! - `M` are the subflows with the largest window;
//! - if `B \ M` is empty every `alpha_r` is 0; otherwise `alpha_r = 1 / (n |B \ M|)` for
//!   `r` in `B \ M`, `-1 / (n |M|)` for `r` in `M`, and 0 for the others.
//!
//! The `alpha` terms sum to zero over the connection: they shift window, never add any.
//! (The multipath-tcp.org implementation ranks paths by the same `l_r / rtt_r^2`.)
//!
//! # Fixed point
//!
//! The change is returned per acknowledged packet in units of 2^-32 packets
//! ([`INC_SHIFT`]), signed. RTTs are divided by the smallest one `m` as in [`super::math`]:
//! `z_p = w_p m / rtt_p` and `y_r = w_r m^2 / rtt_r^2`, both at most `w_p` (resp. `w_r`),
//! with [`Z_SHIFT`] fraction bits; the first term is `y_r / Z^2` with `Z = sum_p z_p`,
//! computed as `((y_r << 24) / Z << 27) / Z`: `y_r << 24 < 2^63` since `y_r <= 2^39`, and
//! `y_r / Z <= 1` so the middle value is at most `2^51`. `y_r` is off by at most 2^-19
//! packets and `Z` by `n` 2^-19 (truncated fractions); with `y_r <= Z` and `Z >= 1` (the
//! subflow with the smallest RTT has `z = w >= 1`) the term's absolute error is below
//! `(2n + 1) 2^-19` packets per ACK (3.2e-5 for 16 subflows), plus 2^-24 from the
//! divisions. It never exceeds `1 / w_r` (Reno's increase), because `y_r = z_r^2 / w_r`
//! and `Z >= z_r`. The comparisons of `l_r / rtt_r^2` are exact
//! (cross-multiplied in 128 bits, multiplication only).

use super::math::{clamp, Sample, CWND_MAX, MAX_SUBFLOWS, RTT_MAX_US, RTT_MIN_US, Z_SHIFT};

/// Fraction bits of an increase: `1 << INC_SHIFT` is one packet.
pub const INC_SHIFT: u32 = 32;
/// One packet, in the units of an increase.
pub const ONE_PACKET: i64 = 1 << INC_SHIFT;

/// What one subflow contributes to OLIA's coupling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path {
    /// Window and RTT, as for LIA.
    pub sample: Sample,
    /// Inter-loss distance `l_r`, bytes ([`Intervals::distance`]).
    pub distance: u32,
}

/// Whether `a` has a larger `l / rtt^2` than `b` (`Greater`), the same, or a smaller one.
fn rank(a: &Path, b: &Path) -> core::cmp::Ordering {
    let (ra, rb) = (a.sample.rtt_us as u128, b.sample.rtt_us as u128);
    // l_a / ra^2 vs l_b / rb^2  <=>  l_a * rb^2 vs l_b * ra^2: at most 2^32 * 2^48.
    (a.distance as u128 * rb * rb).cmp(&(b.distance as u128 * ra * ra))
}

/// The change of subflow `r`'s window per acknowledged packet in congestion avoidance,
/// in units of 2^-[`INC_SHIFT`] packets, given the paths of all subflows that can carry
/// data (`r` indexes `paths`). Paths without an RTT or window are left out (as by
/// [`super::math::couple`]), and so is everything past [`MAX_SUBFLOWS`]; `None` when
/// `r` is one of those.
pub fn increase(paths: &[Path], r: usize) -> Option<i64> {
    let mut used = [Path::default(); MAX_SUBFLOWS];
    let mut n = 0;
    let mut me = None;
    for (i, p) in paths.iter().enumerate() {
        if p.sample.cwnd == 0 || p.sample.rtt_us == 0 {
            continue;
        }
        if n == MAX_SUBFLOWS {
            break;
        }
        if i == r {
            me = Some(n);
        }
        used[n] = Path {
            sample: Sample {
                cwnd: clamp(p.sample.cwnd, 1, CWND_MAX),
                rtt_us: clamp(p.sample.rtt_us, RTT_MIN_US, RTT_MAX_US),
            },
            distance: p.distance,
        };
        n += 1;
    }
    let me = me?;
    let used = &used[..n];
    let m = used.iter().map(|p| p.sample.rtt_us).min()? as u64;

    // Every divisor below is at least 1 (clamped RTTs, `Z >= 1`, counts of non-empty
    // sets); `div` says so without a panicking division, which the kernel's objtool does
    // not know as noreturn.
    let div = |a: u64, b: u64| a.checked_div(b).unwrap_or(0);

    // First term: y_r / Z^2.
    let z_of = |p: &Path| {
        div(
            (p.sample.cwnd as u64 * m) << Z_SHIFT,
            p.sample.rtt_us as u64,
        )
    };
    let z_sum: u64 = used.iter().map(z_of).sum();
    let mine = &used[me];
    let y = div(z_of(mine) * m, mine.sample.rtt_us as u64);
    let ratio = div(y << 24, z_sum);
    let first = div(ratio << 27, z_sum) as i64;

    // Second term: alpha_r / w_r.
    let max_w = used.iter().map(|p| p.sample.cwnd).max()?;
    let best = used.iter().max_by(|a, b| rank(a, b))?;
    let in_m = |p: &Path| p.sample.cwnd == max_w;
    let in_b = |p: &Path| rank(p, best).is_eq();
    let m_count = used.iter().filter(|p| in_m(p)).count() as u64;
    let b_not_m = used.iter().filter(|p| in_b(p) && !in_m(p)).count() as u64;
    let (n, w) = (n as u64, mine.sample.cwnd as u64);
    let one = ONE_PACKET as u64;
    let second = if b_not_m == 0 {
        0
    } else if in_b(mine) && !in_m(mine) {
        div(one, n * b_not_m * w) as i64
    } else if in_m(mine) {
        -(div(one, n * m_count * w) as i64)
    } else {
        0
    };
    Some(first + second)
}

/// A subflow's progress towards its next window change: applies the change `inc` (per
/// packet, from [`increase`]) for `acked` packets to the window `cwnd` and the
/// accumulated fraction `acc` (both units of 2^-[`INC_SHIFT`] packets); returns the new
/// window (at least 1, at most `clamp`) and fraction. A window moves by at most one
/// packet per call; the fraction left stays within one packet either way.
pub fn step(cwnd: u32, acc: i64, inc: i64, acked: u32, clamp: u32) -> (u32, i64) {
    let acc = acc.saturating_add(inc.saturating_mul(acked as i64));
    if acc >= ONE_PACKET {
        let cwnd = if cwnd < clamp { cwnd + 1 } else { cwnd };
        (cwnd, (acc - ONE_PACKET).min(ONE_PACKET - 1))
    } else if acc <= -ONE_PACKET {
        (
            (cwnd.saturating_sub(1)).max(1),
            (acc + ONE_PACKET).max(-(ONE_PACKET - 1)),
        )
    } else {
        (cwnd, acc)
    }
}

/// The inter-loss distance of one subflow, from the sequence numbers acknowledged
/// (`snd_una`, bytes, wrapping) at its losses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Intervals {
    /// `snd_una` at the loss before the last one.
    prev: u32,
    /// `snd_una` at the last loss.
    last: u32,
}

impl Intervals {
    /// A subflow starting at `snd_una`: no loss yet, so the distance is what it has sent.
    pub fn new(snd_una: u32) -> Self {
        Intervals {
            prev: snd_una,
            last: snd_una,
        }
    }

    /// The state as two sequence numbers (the loss before the last, the last), for
    /// storage in a socket's private area, and back.
    pub fn parts(&self) -> (u32, u32) {
        (self.prev, self.last)
    }

    /// See [`Intervals::parts`].
    pub fn from_parts(prev: u32, last: u32) -> Self {
        Intervals { prev, last }
    }

    /// A loss at `snd_una`. Several loss signals without progress in between (one
    /// window's losses, repeated timeouts) are one loss event.
    pub fn loss(&mut self, snd_una: u32) {
        if snd_una != self.last {
            self.prev = self.last;
            self.last = snd_una;
        }
    }

    /// `l_r`: the bytes between the last two losses, or since the last one if more.
    pub fn distance(&self, snd_una: u32) -> u32 {
        let since = snd_una.wrapping_sub(self.last);
        let between = self.last.wrapping_sub(self.prev);
        since.max(between)
    }
}
