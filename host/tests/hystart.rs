// SPDX-License-Identifier: GPL-2.0

//! HyStart++ (RFC 9406): the state machine's rules one by one, and a packet-level model
//! of a slow start through a FIFO bottleneck that says where it leaves slow start.

mod rng;

use mptcp_proxy_host::lia::hystart::*;
use rng::Rng;

const MSS: u32 = 1000;

/// The delay threshold for a minimum RTT of `min_us` (RFC 9406).
fn threshold(min_us: u32) -> u32 {
    (min_us / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH_US, MAX_RTT_THRESH_US)
}

/// Drives one round: `acks` ACKs of one packet each, every one with `rtt(i)` (or none),
/// starting at `una`; the sender keeps `inflight` packets beyond `snd_una`. Returns the
/// events seen and the new `snd_una`.
fn round(
    hs: &mut HyStart,
    una: &mut u32,
    acks: u32,
    inflight: u32,
    mut rtt: impl FnMut(u32) -> Option<u32>,
) -> Vec<Event> {
    let mut ev = Vec::new();
    for i in 0..acks {
        *una = una.wrapping_add(MSS);
        let nxt = una.wrapping_add(inflight * MSS);
        match hs.on_ack(*una, nxt, rtt(i)) {
            Event::None => {}
            e => ev.push(e),
        }
    }
    ev
}

/// A state after `rounds` rounds of `acks` ACKs each at a constant `rtt_us`; each round
/// is exactly the packets in flight at its start, so `snd_una` reaches `window_end` on
/// its last ACK.
fn warmed(una: &mut u32, rounds: u32, acks: u32, rtt_us: u32) -> HyStart {
    let mut hs = HyStart::new();
    // The first ACK opens the first round, which ends `acks` packets later.
    assert_eq!(
        hs.on_ack(*una, una.wrapping_add(acks * MSS), Some(rtt_us)),
        Event::None
    );
    for _ in 0..rounds {
        assert!(round(&mut hs, una, acks, acks - 1, |_| Some(rtt_us)).is_empty());
    }
    hs
}

#[test]
fn zeroed_is_new() {
    // The kernel zeroes a socket's private area: that must be the fresh state.
    assert_eq!(HyStart::default(), HyStart::new());
    assert_eq!(HyStart::new().phase(), Phase::Standard);
}

#[test]
fn parts_round_trip() {
    assert_eq!(HyStart::from_parts([0; 5]), HyStart::new());
    // A state in CSS, with samples and rounds counted, survives the round trip.
    let mut una = 0u32.wrapping_sub(5 * MSS);
    let mut hs = warmed(&mut una, 2, 20, 10_000);
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(20_000)),
        [Event::EnterCss]
    );
    round(&mut hs, &mut una, 3, 19, |_| Some(21_000));
    assert_eq!(HyStart::from_parts(hs.parts()), hs);
    assert_ne!(hs.parts(), [0; 5]);
}

#[test]
fn first_round_never_compares() {
    // No previous round: however the RTT rises, no CSS.
    let mut hs = HyStart::new();
    let mut una = 0;
    assert_eq!(hs.on_ack(una, 100 * MSS, Some(1_000)), Event::None);
    let ev = round(&mut hs, &mut una, 99, 100, |i| Some(1_000 + i * 1_000));
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(hs.phase(), Phase::Standard);
}

#[test]
fn threshold_is_an_eighth_clamped_to_4_and_16_ms() {
    // (last round's minimum RTT, threshold it implies)
    for (base, thresh) in [
        (1_000, 4_000),
        (32_000, 4_000),
        (40_000, 5_000),
        (100_000, 12_500),
        (128_000, 16_000),
        (500_000, 16_000),
    ] {
        // One microsecond short of the threshold: stays in standard slow start.
        let mut una = 7;
        let mut hs = warmed(&mut una, 2, 20, base);
        let ev = round(&mut hs, &mut una, 20, 19, |_| Some(base + thresh - 1));
        assert!(ev.is_empty(), "base {base}: {ev:?}");
        assert_eq!(hs.phase(), Phase::Standard);
        // At the threshold: CSS, on the round's eighth sample exactly.
        let mut una = 7;
        let mut hs = warmed(&mut una, 2, 20, base);
        let ev = round(&mut hs, &mut una, 20, 19, |_| Some(base + thresh));
        assert_eq!(ev, [Event::EnterCss], "base {base}");
        assert_eq!(hs.phase(), Phase::Conservative);
        let mut una = 7;
        let mut hs = warmed(&mut una, 2, 20, base);
        let ev = round(&mut hs, &mut una, N_RTT_SAMPLE - 1, 19, |_| {
            Some(base + thresh)
        });
        assert!(ev.is_empty(), "seven samples are not enough: {ev:?}");
        let ev = round(&mut hs, &mut una, 1, 19, |_| Some(base + thresh));
        assert_eq!(ev, [Event::EnterCss]);
    }
}

#[test]
fn the_round_minimum_counts_not_one_sample() {
    // Most samples high, one at the old level: the minimum has not risen.
    let mut una = 0;
    let mut hs = warmed(&mut una, 3, 30, 10_000);
    let ev = round(&mut hs, &mut una, 30, 29, |i| {
        Some(if i == 3 { 10_000 } else { 40_000 })
    });
    assert!(ev.is_empty(), "{ev:?}");
}

#[test]
fn acks_without_rtt_are_not_samples() {
    let mut una = 0;
    let mut hs = warmed(&mut una, 2, 30, 10_000);
    // Every other ACK has no sample (retransmitted data): 7 samples in 14 ACKs.
    let ev = round(&mut hs, &mut una, 14, 29, |i| {
        (i % 2 == 0).then_some(20_000)
    });
    assert!(ev.is_empty(), "{ev:?}");
    let ev = round(&mut hs, &mut una, 2, 29, |_| Some(20_000));
    assert_eq!(ev, [Event::EnterCss]);
}

#[test]
fn jitter_below_the_threshold_never_leaves_standard_slow_start() {
    let mut rng = Rng::new(0x9406);
    for _ in 0..200 {
        let base = rng.range(50, 200_000) as u32;
        let thresh = (base / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH_US, MAX_RTT_THRESH_US);
        let mut una = rng.next_u64() as u32;
        let mut hs = HyStart::new();
        let mut inflight = 10;
        // Rounds of `inflight` ACKs, doubling: see `warmed` for the alignment.
        hs.on_ack(una, una.wrapping_add(inflight * MSS), Some(base));
        for _ in 0..12 {
            // Each round's minimum anywhere in [base, base + thresh): consecutive rounds
            // differ by less than the threshold, however they move. The other samples
            // are higher still. (The minimum comes among the first eight: the check
            // runs on every ACK from the eighth on, with the minimum so far.)
            let min = base + rng.range(0, u64::from(thresh) - 1) as u32;
            let at = rng.range(0, u64::from(N_RTT_SAMPLE) - 1) as u32;
            let ev = round(&mut hs, &mut una, inflight, inflight - 1, |i| {
                Some(if i == at {
                    min
                } else {
                    min + rng.range(0, 50_000) as u32
                })
            });
            assert!(ev.is_empty(), "base {base}: {ev:?}");
            inflight *= 2;
        }
    }
}

#[test]
fn css_back_to_standard_on_a_lower_rtt() {
    let mut una = 0;
    let mut hs = warmed(&mut una, 2, 20, 10_000);
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(15_000)),
        [Event::EnterCss]
    );
    // Next round: eight samples at or above the baseline keep CSS...
    assert!(round(&mut hs, &mut una, 20, 19, |_| Some(15_000)).is_empty());
    assert_eq!(hs.phase(), Phase::Conservative);
    // ...one below it, once the round has eight samples, ends it.
    let ev = round(&mut hs, &mut una, 20, 19, |i| {
        Some(if i == 2 { 14_999 } else { 16_000 })
    });
    assert_eq!(ev, [Event::Spurious]);
    assert_eq!(hs.phase(), Phase::Standard);
    // And the comparisons start again from the new rounds' minima.
    assert!(round(&mut hs, &mut una, 20, 19, |_| Some(14_999)).is_empty());
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(18_999)),
        [Event::EnterCss]
    );
}

#[test]
fn css_spurious_check_needs_no_previous_round() {
    // In CSS, a round without samples (all retransmitted data) leaves no previous
    // minimum; the next round is still compared with the baseline.
    let mut una = 0;
    let mut hs = warmed(&mut una, 2, 20, 10_000);
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(15_000)),
        [Event::EnterCss]
    );
    assert!(round(&mut hs, &mut una, 20, 19, |_| None).is_empty());
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(12_000)),
        [Event::Spurious]
    );
}

#[test]
fn exit_after_css_rounds() {
    let mut una = 0;
    let mut hs = warmed(&mut una, 2, 20, 10_000);
    // CSS begins in this round, which counts as the first.
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(20_000)),
        [Event::EnterCss]
    );
    for r in 1..CSS_ROUNDS {
        let ev = round(&mut hs, &mut una, 20, 19, |_| Some(20_000));
        assert!(ev.is_empty(), "round {r}: {ev:?}");
        assert_eq!(hs.phase(), Phase::Conservative);
    }
    // The first ACK after the fifth round ends slow start.
    assert_eq!(
        round(&mut hs, &mut una, 1, 19, |_| Some(20_000)),
        [Event::Exit]
    );
    assert_eq!(hs, HyStart::new());
}

#[test]
fn css_ends_at_once_when_the_rise_goes_on() {
    let mut una = 0;
    let mut hs = warmed(&mut una, 2, 20, 10_000);
    // Baseline 15 ms: its threshold is 4 ms (15/8 clamped), so 19 ms confirms the rise.
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(15_000)),
        [Event::EnterCss]
    );
    // Just below: CSS goes on (and no spurious exit either, 18 ms is above 15).
    assert!(round(&mut hs, &mut una, 20, 19, |_| Some(18_999)).is_empty());
    assert_eq!(hs.phase(), Phase::Conservative);
    // At the threshold: slow start ends on the round's eighth sample, not its last ACK.
    let mut n = 0;
    let ev = loop {
        n += 1;
        una += MSS;
        match hs.on_ack(una, una + 19 * MSS, Some(19_000)) {
            Event::None if n < 20 => {}
            e => break e,
        }
    };
    assert_eq!((ev, n), (Event::ExitOnRise, N_RTT_SAMPLE));
    assert_eq!(hs, HyStart::new());
    // The threshold is taken from the baseline: 160 ms gives 16 ms (the cap), not 4.
    let mut una = 0;
    let mut hs = warmed(&mut una, 2, 20, 100_000);
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(160_000)),
        [Event::EnterCss]
    );
    assert!(round(&mut hs, &mut una, 20, 19, |_| Some(175_999)).is_empty());
    assert_eq!(
        round(&mut hs, &mut una, 20, 19, |_| Some(176_000)),
        [Event::ExitOnRise]
    );
}

#[test]
fn rounds_end_across_the_sequence_wrap() {
    // 30 packets before the wrap, 30 after: a round of 60 must end on its 60th ACK, not
    // at once (as an unsigned comparison would have it) nor never.
    let mut una = 0u32.wrapping_sub(30 * MSS);
    let mut hs = HyStart::new();
    hs.on_ack(una, una.wrapping_add(60 * MSS), Some(10_000));
    assert!(round(&mut hs, &mut una, 60, 60, |_| Some(10_000)).is_empty());
    // The next round is compared with that one: 8 samples 4 ms higher enter CSS.
    assert_eq!(
        round(&mut hs, &mut una, 8, 60, |_| Some(14_000)),
        [Event::EnterCss]
    );
}

/// A slow start through one FIFO bottleneck without loss: `rate` packets per ms, base
/// RTT `base_us`, an ACK per packet, the window growing by one per ACK in standard slow
/// start and by a quarter in CSS. Returns the window when slow start ended (or `cap` if it
/// did not), the window when CSS began last, and the number of times CSS began.
///
/// The receiver ACKs every `ack_every` packets (1, or 2 as with delayed ACKs). The RTT
/// of each ACK gets up to `jitter_us` of noise: a level drawn anew for every base RTT of
/// time (a route or a scheduler that changes).
fn slow_start(
    rate: f64,
    base_us: u32,
    jitter_us: u32,
    ack_every: u32,
    seed: u64,
    cap: u32,
) -> (u32, u32, u32) {
    let mut rng = Rng::new(seed);
    let ser_us = 1000.0 / rate;
    let mut hs = HyStart::new();
    let mut cwnd4 = 10 * CSS_GROWTH_DIVISOR; // quarter packets
                                             // Sent packets' (send time, departure from the bottleneck), in order.
    let mut sent: std::collections::VecDeque<(f64, f64)> = Default::default();
    let mut last_dep = 0.0f64;
    let (mut una, mut nxt) = (0u32, 0u32);
    let mut send = |t: f64, sent: &mut std::collections::VecDeque<(f64, f64)>, nxt: &mut u32| {
        let dep = (t + base_us as f64 / 2.0).max(last_dep) + ser_us;
        last_dep = dep;
        sent.push_back((t, dep));
        *nxt = nxt.wrapping_add(MSS);
    };
    for _ in 0..10 {
        send(0.0, &mut sent, &mut nxt);
    }
    let (mut css, mut entry) = (0, 0);
    let (mut epoch, mut level) = (u64::MAX, 0);
    let mut pending = 0;
    while let Some((t0, dep)) = sent.pop_front() {
        let now = dep + base_us as f64 / 2.0;
        una = una.wrapping_add(MSS);
        pending += 1;
        if pending < ack_every {
            continue;
        }
        let acked = pending;
        pending = 0;
        if (now / f64::from(base_us.max(1))) as u64 != epoch {
            epoch = (now / f64::from(base_us.max(1))) as u64;
            level = rng.range(0, u64::from(jitter_us)) as u32;
        }
        let rtt = (now - t0) as u32 + level;
        match hs.on_ack(una, nxt, Some(rtt)) {
            Event::Exit | Event::ExitOnRise => return (cwnd4 / CSS_GROWTH_DIVISOR, entry, css),
            Event::EnterCss => {
                css += 1;
                entry = cwnd4 / CSS_GROWTH_DIVISOR;
            }
            _ => {}
        }
        cwnd4 += acked
            * match hs.phase() {
                Phase::Standard => CSS_GROWTH_DIVISOR,
                Phase::Conservative => 1,
            };
        if cwnd4 / CSS_GROWTH_DIVISOR >= cap {
            return (cap, entry, css);
        }
        while nxt.wrapping_sub(una) / MSS < cwnd4 / CSS_GROWTH_DIVISOR {
            send(now, &mut sent, &mut nxt);
        }
    }
    unreachable!("the window never empties");
}

#[test]
fn leaves_slow_start_near_the_bdp_not_at_the_buffer() {
    // (rate in packets per ms, base RTT): from the upstream selftest's veths (10 Mbit/s
    // of 1500-byte packets, almost no delay) to a long fat path.
    for ack_every in [1, 2] {
        for (rate, base_us) in [
            (0.83, 100),
            (0.25, 100),
            (0.83, 25_000),
            (10.0, 20_000),
            (100.0, 50_000),
        ] {
            let bdp = rate * base_us as f64 / 1000.0;
            // The window at which the queue is the delay threshold's worth of packets.
            let thresh = threshold(base_us);
            let knee = bdp + rate * thresh as f64 / 1000.0;
            let (cwnd, entry, css) = slow_start(rate, base_us, 0, ack_every, 1, 1_000_000);
            println!(
                "ack every {ack_every}, rate {rate}/ms base {base_us} us: bdp {bdp:.1} \
                 knee {knee:.1} css at {entry} exit at {cwnd}"
            );
            // CSS begins once the queue at a round's start holds the threshold's worth
            // of packets, so not below the knee; and at the latest in the round after
            // the one that first reached it: two doublings, plus the eight samples it
            // waits for (of `ack_every` packets each). The initial window (10) is the
            // first round whatever the knee.
            let knee0 = knee.max(10.0);
            let e = f64::from(entry);
            let lag = f64::from(N_RTT_SAMPLE * ack_every);
            assert!(e >= knee, "CSS at {entry}, below the knee {knee:.1}");
            assert!(
                e <= 4.0 * knee0 + lag,
                "CSS at {entry}, far past the knee {knee:.1}"
            );
            // Then CSS ends once a round's minimum RTT is a second threshold above the
            // one CSS began with. CSS begins on the samples of packets sent half a round
            // earlier, at about half the window, so its baseline is that of a window
            // half the size: the first CSS round's eighth sample is past the second
            // threshold already, and CSS lasts about one round (at most 1.25x, plus the
            // samples it waits for), far short of the RFC's CSS_ROUNDS rounds.
            let c = f64::from(cwnd);
            assert!(
                c >= e && c <= 1.25 * e + lag,
                "exit at {cwnd} after CSS at {entry}"
            );
            assert_eq!(css, 1, "no spurious CSS without jitter");
        }
    }
}

#[test]
fn a_path_without_a_bottleneck_is_never_left() {
    // A fast path (no queue within the cap) whose RTT level moves by up to just below
    // the 4 ms floor (well above the 2.5 ms that an eighth of its 20 ms would give): slow
    // start runs to the cap.
    for seed in 1..20 {
        let (cwnd, _, css) = slow_start(1e6, 20_000, MIN_RTT_THRESH_US - 1, 2, seed, 20_000);
        assert_eq!((cwnd, css), (20_000, 0), "seed {seed}");
    }
}
