// SPDX-License-Identifier: GPL-2.0

//! The arithmetic of LIA, the Linked Increases Algorithm of RFC 6356, in fixed point.
//!
//! Pure: no kernel imports, so `host/` builds this file too and tests it against a
//! floating-point model of the RFC.
//!
//! # The model
//!
//! For the subflows `i` of one MPTCP connection, with window `w_i` (packets) and smoothed
//! round-trip time `r_i`, RFC 6356 section 3 increases `w_i`, for each ACK of `acked`
//! packets in congestion avoidance, by
//!
//! ```text
//!     min(alpha * acked / w_total, acked / w_i)          w_total = sum_i w_i
//!
//!     alpha = w_total * max_i(w_i / r_i^2) / (sum_i w_i / r_i)^2
//! ```
//!
//! Linux grows `snd_cwnd` by one packet every `d` acked packets (`tcp_cong_avoid_ai`), so
//! the increase above is the additive increase with divisor
//!
//! ```text
//!     d_i = max(D, w_i)      D = w_total / alpha = (sum_i w_i / r_i)^2 / max_i(w_i / r_i^2)
//! ```
//!
//! `D` is the same for every subflow of the connection: [`couple`] computes it (and
//! `alpha`, for reporting) once, [`ai_divisor`] turns it into each subflow's `d_i`.
//! With one subflow `D = w_1` exactly, which is Reno.
//!
//! # Fixed point and overflow bounds
//!
//! All RTTs are divided by the smallest one, `m`, so every term is at most its window:
//! `z_i = w_i * m / r_i <= w_i` and `y_i = w_i * m^2 / r_i^2 <= w_i`. Then
//! `D = (sum_i z_i)^2 / max_i y_i` (the `m^2` cancels). The terms carry [`Z_SHIFT`]
//! fraction bits. With windows clamped to `[1, CWND_MAX]` (2^20), RTTs to
//! `[RTT_MIN_US, RTT_MAX_US]` (10 us .. 10 s, < 2^24) and at most [`MAX_SUBFLOWS`] (16)
//! subflows:
//!
//! - `w_i * m << Z_SHIFT < 2^20 * 2^24 * 2^19 = 2^63`;
//! - `z_i <= w_i << Z_SHIFT <= 2^39`, so `z_i * m < 2^63` when computing `y_i`;
//! - `Z = sum_i z_i <= 2^43`; `Z^2` would not fit, so `Z` is shifted right by `k` until it
//!   fits in 31 bits and `Y = max_i y_i` by `2k`. Cauchy-Schwarz gives
//!   `Z^2 <= 2^19 * w_total * n * Y`, hence `Y >> 2k >= 2^13` whenever `k > 0`: at least
//!   13 significant bits are kept (relative error below 2^-12);
//! - `D >= Z >= 2^19` (one packet, since `z_i >= y_i` and the subflow with the smallest
//!   RTT has `z_i = w_i << Z_SHIFT`) and `D <= 2^19 * w_total * n <= 2^47`;
//! - `alpha = w_total << (ALPHA_SHIFT + Z_SHIFT) / D` with `w_total << 35 < 2^59`.
//!
//! Every rounding goes towards a larger `D` or is below one part in 4096, and [`ai_divisor`]
//! rounds `D` up: the result is never more aggressive than the RFC.

/// Most subflows one connection couples. The in-kernel path manager allows 8 subflows per
/// connection; a userspace path manager may open more, and those run uncoupled.
pub const MAX_SUBFLOWS: usize = 16;
/// Windows are clamped to `[1, CWND_MAX]` packets before use.
pub const CWND_MAX: u32 = 1 << 20;
/// RTTs are clamped to `[RTT_MIN_US, RTT_MAX_US]` microseconds before use.
pub const RTT_MIN_US: u32 = 10;
/// Upper RTT clamp (10 s), below 2^24.
pub const RTT_MAX_US: u32 = 10_000_000;
/// Fraction bits of the normalised rate terms `z_i`, `y_i` and of [`Coupled::divisor_fp`].
pub const Z_SHIFT: u32 = 19;
/// Fraction bits of [`Coupled::alpha_fp`]: `alpha = alpha_fp / 2^16`.
pub const ALPHA_SHIFT: u32 = 16;
/// `alpha == 1.0` in fixed point.
pub const ALPHA_UNIT: u64 = 1 << ALPHA_SHIFT;

/// What one subflow contributes to the coupling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Congestion window, packets.
    pub cwnd: u32,
    /// Smoothed RTT, microseconds; 0 when the subflow has no RTT sample yet.
    pub rtt_us: u32,
}

/// The coupling of one connection, recomputed from the samples of its subflows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coupled {
    /// `D = w_total / alpha`, packets with [`Z_SHIFT`] fraction bits, at least one packet.
    pub divisor_fp: u64,
    /// `alpha` with [`ALPHA_SHIFT`] fraction bits; in `[2^16 / n, w_total * 2^16]`.
    pub alpha_fp: u64,
    /// Sum of the windows of the samples used, packets (at most `MAX_SUBFLOWS * CWND_MAX`).
    pub total_cwnd: u32,
    /// Number of samples used.
    pub subflows: u32,
}

/// `v` clamped to `[lo, hi]` (`lo <= hi`), without `Ord::clamp`'s panic path.
pub fn clamp(v: u32, lo: u32, hi: u32) -> u32 {
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}

/// Computes the coupling from the samples of a connection's subflows.
///
/// Samples without an RTT (`rtt_us == 0`) or with an empty window are left out, and so
/// is everything past the first [`MAX_SUBFLOWS`] usable samples. Returns `None` when no
/// sample is usable.
pub fn couple<I: IntoIterator<Item = Sample>>(samples: I) -> Option<Coupled> {
    let mut used = [Sample::default(); MAX_SUBFLOWS];
    let mut n = 0;
    for s in samples {
        if s.cwnd == 0 || s.rtt_us == 0 {
            continue;
        }
        if n == MAX_SUBFLOWS {
            break;
        }
        used[n] = Sample {
            cwnd: clamp(s.cwnd, 1, CWND_MAX),
            rtt_us: clamp(s.rtt_us, RTT_MIN_US, RTT_MAX_US),
        };
        n += 1;
    }
    let used = &used[..n];
    let min_rtt = used.iter().map(|s| s.rtt_us).min()? as u64;

    let mut total: u64 = 0;
    let mut z_sum: u64 = 0;
    let mut y_max: u64 = 0;
    for s in used {
        let (w, r) = (s.cwnd as u64, s.rtt_us as u64);
        // z = w * m / r and y = z * m / r, each <= w << Z_SHIFT (see the module docs).
        let z = ((w * min_rtt) << Z_SHIFT) / r;
        let y = z * min_rtt / r;
        total += w;
        z_sum += z;
        if y > y_max {
            y_max = y;
        }
    }
    // D = Z^2 / Y with Z brought under 2^31 so that the square fits.
    let bits = 64 - z_sum.leading_zeros();
    let k = bits.saturating_sub(31);
    let z = z_sum >> k;
    let y = (y_max >> (2 * k)).max(1);
    let divisor_fp = (z * z / y).max(1 << Z_SHIFT);
    let alpha_fp = (total << (ALPHA_SHIFT + Z_SHIFT)) / divisor_fp;
    Some(Coupled {
        divisor_fp,
        alpha_fp,
        total_cwnd: total as u32,
        subflows: n as u32,
    })
}

/// The additive-increase divisor of a subflow with window `cwnd`: its window grows by one
/// packet every `max(D, cwnd)` acked packets (the argument of `tcp_cong_avoid_ai`).
/// `D` is rounded up, so the increase never exceeds RFC 6356's.
pub fn ai_divisor(c: &Coupled, cwnd: u32) -> u32 {
    let unit = 1u64 << Z_SHIFT;
    let d = c.divisor_fp.saturating_add(unit - 1) >> Z_SHIFT;
    let d = if d > u32::MAX as u64 {
        u32::MAX
    } else {
        d as u32
    };
    if d > cwnd {
        d
    } else {
        cwnd.max(1)
    }
}
