// SPDX-License-Identifier: GPL-2.0

//! MIB-style counters: relaxed atomics, zero-initialised with the per-namespace data.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::init::Zeroable;

/// `N` counters indexed by the caller's enum.
pub(crate) struct Counters<const N: usize>([AtomicU64; N]);

// SAFETY: `AtomicU64` has the layout of `u64`; all-zero bytes are `N` counters at 0.
unsafe impl<const N: usize> Zeroable for Counters<N> {}

impl<const N: usize> Counters<N> {
    /// Adds one to counter `i` (out of range: ignored).
    pub(crate) fn inc(&self, i: usize) {
        if let Some(c) = self.0.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds `n` to counter `i` (out of range: ignored).
    pub(crate) fn add(&self, i: usize, n: u64) {
        if let Some(c) = self.0.get(i) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The value of counter `i` (0 when out of range).
    pub(crate) fn get(&self, i: usize) -> u64 {
        self.0.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}
