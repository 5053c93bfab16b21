// SPDX-License-Identifier: GPL-2.0

//! A heap value read under RCU and replaced from process context.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::KBox;
use kernel::bindings;
use kernel::init::Zeroable;

/// An optional `KBox<T>` that readers in any context (softirq included) see under
/// `rcu_read_lock()`, and that process context replaces, waiting for a grace period
/// before freeing the old value.
///
/// # Invariants
///
/// The pointer is null or comes from `KBox::into_raw` and is owned by `self`; it is only
/// freed after a grace period that follows its removal.
pub(crate) struct RcuBox<T: Send + Sync>(AtomicPtr<T>);

// SAFETY: a null pointer is the empty box.
unsafe impl<T: Send + Sync> Zeroable for RcuBox<T> {}

impl<T: Send + Sync> RcuBox<T> {
    /// Runs `f` with the current value (if any) inside an RCU read-side section.
    /// `f` must not sleep.
    pub(crate) fn read<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        // SAFETY: paired with the unlock below.
        unsafe { bindings::rcu_read_lock() };
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: per the invariants `p` is null or valid, and not freed before the grace
        // period that follows its removal, which cannot end inside this section.
        let r = f(unsafe { p.as_ref() });
        // SAFETY: paired with the lock above.
        unsafe { bindings::rcu_read_unlock() };
        r
    }

    /// Publishes `new` (or nothing) and frees the previous value after a grace period.
    /// Sleeps: process context only.
    pub(crate) fn replace(&self, new: Option<KBox<T>>) {
        let raw = new.map_or(ptr::null_mut(), KBox::into_raw);
        let old = self.0.swap(raw, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: called from process context (documented requirement).
            unsafe { bindings::synchronize_rcu() };
            // SAFETY: `old` came from `KBox::into_raw`; after the grace period no reader
            // holds it.
            drop(unsafe { KBox::from_raw(old) });
        }
    }
}
