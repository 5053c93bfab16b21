// SPDX-License-Identifier: GPL-2.0

//! A heap value read under RCU and replaced from process context.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::alloc::KBox;
use kernel::bindings;
use kernel::init::Zeroable;

/// An optional `KBox<T>` that readers in any context (softirq included) see under
/// `rcu_read_lock()`, and that process context replaces, waiting for a grace period
/// before freeing the old value.
///
/// A namespace's teardown unpublishes without waiting ([`RcuBox::retire`], in pre_exit)
/// and frees after the grace period the kernel waits for anyway between pre_exit and exit
/// ([`RcuBox::take_retired`], which checks that one has passed and waits only if not).
///
/// # Invariants
///
/// Both pointers are null or come from `KBox::into_raw` and are owned by `self`; `cur` is
/// what readers see, `retired` a value readers may still hold until the grace period
/// whose cookie (`get_state_synchronize_rcu()`, taken after it left `cur`) is in
/// `cookie`. A value is only freed after a grace period that follows its removal from
/// `cur`.
pub(crate) struct RcuBox<T: Send + Sync> {
    cur: AtomicPtr<T>,
    retired: AtomicPtr<T>,
    cookie: AtomicUsize,
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
        // Retired twice without being taken: the older value first.
        drop(self.take_retired());
        // SAFETY: no requirement; the cookie names the grace periods to come.
        let cookie = unsafe { bindings::get_state_synchronize_rcu() };
        self.cookie.store(cookie as usize, Ordering::Release);
        self.retired.store(old, Ordering::Release);
    }

    /// The value [`RcuBox::retire`] unpublished, once a grace period has passed since
    /// (waiting for one if none has: in a namespace's exit one always has). Process
    /// context.
    pub(crate) fn take_retired(&self) -> Option<KBox<T>> {
        let p = self.retired.swap(ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return None;
        }
        let cookie = self.cookie.load(Ordering::Acquire);
        // SAFETY: process context (documented requirement); returns at once when a full
        // grace period has elapsed since the cookie was taken.
        unsafe { bindings::cond_synchronize_rcu(cookie as _) };
        // SAFETY: `p` came from `KBox::into_raw` and left `cur` before the cookie was
        // taken; a grace period has passed since, so no reader holds it.
        Some(unsafe { KBox::from_raw(p) })
    }
}
