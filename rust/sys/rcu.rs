// SPDX-License-Identifier: GPL-2.0

//! A heap value read under RCU and replaced from process context.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::KBox;
use kernel::bindings;
use kernel::init::Zeroable;

use super::net::GracePeriod;

/// An optional `KBox<T>` that readers in any context (softirq included) see under
/// `rcu_read_lock()`, and that process context replaces, waiting for a grace period
/// before freeing the old value.
///
/// A namespace's teardown unpublishes without waiting ([`RcuBox::retire`], in pre_exit)
/// and frees after the grace period the kernel waits for anyway
/// ([`RcuBox::take_retired`], in exit).
///
/// # Invariants
///
/// Both pointers are null or come from `KBox::into_raw` and are owned by `self`; `cur` is
/// what readers see, `retired` a value readers may still hold until the next grace
/// period. A value is only freed after a grace period that follows its removal from
/// `cur`.
pub(crate) struct RcuBox<T: Send + Sync> {
    cur: AtomicPtr<T>,
    retired: AtomicPtr<T>,
}

// SAFETY: null pointers are the empty box.
unsafe impl<T: Send + Sync> Zeroable for RcuBox<T> {}

impl<T: Send + Sync> RcuBox<T> {
    /// Runs `f` with the current value (if any) inside an RCU read-side section.
    /// `f` must not sleep.
    pub(crate) fn read<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        // SAFETY: paired with the unlock below.
        unsafe { bindings::rcu_read_lock() };
        let p = self.cur.load(Ordering::Acquire);
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
        let old = self.cur.swap(raw, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: called from process context (documented requirement).
            unsafe { bindings::synchronize_rcu() };
            // SAFETY: `old` came from `KBox::into_raw`; after the grace period no reader
            // holds it.
            drop(unsafe { KBox::from_raw(old) });
        }
    }

    /// Unpublishes the value without waiting: readers may still see it until the next
    /// grace period; [`RcuBox::take_retired`] hands it back after one. Process context.
    pub(crate) fn retire(&self) {
        let old = self.cur.swap(ptr::null_mut(), Ordering::AcqRel);
        if old.is_null() {
            return;
        }
        let older = self.retired.swap(old, Ordering::AcqRel);
        if !older.is_null() {
            // Retired twice without being taken: free the older one the slow way.
            // SAFETY: process context (documented requirement).
            unsafe { bindings::synchronize_rcu() };
            // SAFETY: `older` came from `KBox::into_raw` and left `cur` before the grace
            // period above.
            drop(unsafe { KBox::from_raw(older) });
        }
    }

    /// The value [`RcuBox::retire`] unpublished before the grace period `gp` proves.
    pub(crate) fn take_retired(&self, _gp: &GracePeriod) -> Option<KBox<T>> {
        let p = self.retired.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `p` is null or came from `KBox::into_raw`; it left `cur` before the
        // grace period `_gp` stands for, so no reader holds it any more.
        (!p.is_null()).then(|| unsafe { KBox::from_raw(p) })
    }
}
