// SPDX-License-Identifier: GPL-2.0

//! Monotonic time, and random numbers.

use kernel::bindings;

/// Milliseconds of a monotonic clock (any origin), usable in any context.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: callable in any context, NMI included.
    unsafe { bindings::ktime_get_mono_fast_ns() / 1_000_000 }
}

/// A random number from the kernel's CRNG (for secrets such as hash keys).
pub(crate) fn random_u64() -> u64 {
    // SAFETY: callable in any context.
    unsafe { bindings::get_random_u64() }
}
