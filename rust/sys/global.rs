// SPDX-License-Identifier: GPL-2.0

//! The module's shared state, reachable from C callbacks that carry no context pointer
//! (pernet `init`/`exit`, proc `show`, congestion-control ops).

use core::pin::Pin;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::KBox;

/// A global slot holding one pinned, heap-allocated `T` between [`Global::install`] and
/// the drop of the returned [`Installed`].
///
/// # Invariants
///
/// The pointer is null, or comes from `KBox::into_raw` of a pinned box and stays valid
/// until [`Installed`] is dropped.
pub(crate) struct Global<T: Sync + 'static>(AtomicPtr<T>);

impl<T: Sync + 'static> Global<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self(AtomicPtr::new(ptr::null_mut()))
    }

    /// Publishes `value`. Fails with `EBUSY` if the slot is already in use.
    pub(crate) fn install(
        &'static self,
        value: Pin<KBox<T>>,
    ) -> kernel::error::Result<Installed<T>> {
        // SAFETY: the box stays pinned: it is only turned back into a `Pin<KBox<T>>` in
        // `Installed::drop`, and never moved out of in between.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(value) });
        if self
            .0
            .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: `raw` came from `KBox::into_raw` just above and was not published.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(kernel::error::code::EBUSY);
        }
        Ok(Installed { slot: self })
    }

    /// The installed value, if any.
    pub(crate) fn get(&'static self) -> Option<&'static T> {
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: by the type invariant `p` is null or valid until `Installed` is dropped;
        // `Installed` is only dropped after everything that calls `get` (the registrations
        // of the module) has been unregistered, see `Installed`.
        unsafe { p.as_ref() }
    }
}

/// Ownership of an installed value; dropping it frees the value.
///
/// Must be dropped after every registration whose callbacks call [`Global::get`]: the
/// module struct declares it as its last field, so it is dropped last.
pub(crate) struct Installed<T: Sync + 'static> {
    slot: &'static Global<T>,
}

impl<T: Sync + 'static> Drop for Installed<T> {
    fn drop(&mut self) {
        let p = self.slot.0.swap(ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            // SAFETY: `p` came from `KBox::into_raw` in `install`; no callback can hold a
            // reference any more (see the type's documentation).
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}
