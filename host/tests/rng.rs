// SPDX-License-Identifier: GPL-2.0

//! A small deterministic generator for randomized tests (xorshift64*), so failures
//! reproduce from the printed seed without extra crates.

pub struct Rng(u64);

// Each test binary includes this file and uses only some of its methods.
#[allow(dead_code)]
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Log-uniform in `[lo, hi]`: small and large magnitudes equally likely.
    pub fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        let x = a + (b - a) * (self.next_u64() as f64 / u64::MAX as f64);
        (x.exp().round() as u64).clamp(lo, hi)
    }
}
