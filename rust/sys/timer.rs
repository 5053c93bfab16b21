// SPDX-License-Identifier: GPL-2.0

//! A one-shot kernel timer that holds a reference on its owner while it is armed.
//!
//! Arming stores an `Arc<T>` in the timer; expiry takes it out and hands it to
//! [`Fire::fire`] (softirq context: queue work, do not sleep). So the owner cannot be
//! freed while the timer is pending. [`Timer::shutdown`] cancels for good: later arming
//! does nothing (the kernel's `timer_shutdown_sync` semantics), and the reference held by
//! a pending timer is released. An owner that contains its own timer must call
//! `shutdown` before it drops its last reference, or an armed timer keeps it alive.
//!
//! C header: [`include/linux/timer.h`](srctree/include/linux/timer.h)

use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// What a timer does when it expires.
pub(crate) trait Fire: Send + Sync + Sized {
    /// Called in softirq context with the reference the arming took. It must not drop
    /// the last reference: the timer's owner holds its own until after
    /// [`Timer::shutdown`] (dropping the owner from its own timer's expiry would wait
    /// for that expiry to finish).
    fn fire(this: Arc<Self>);
}

/// The lockdep class of every timer of this module (only used with lockdep).
struct Key(Opaque<bindings::lock_class_key>);
// SAFETY: the kernel only uses the key's address.
unsafe impl Sync for Key {}
static KEY: Key = Key(Opaque::uninit());

/// A timer owning a reference on a `T` while armed.
///
/// # Invariants
///
/// `raw` was set up by `init_timer_key` with [`Timer::expired`] as function. `slot` is
/// null or a pointer from `Arc::into_raw`, owned by the timer.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct Timer<T: Fire> {
    /// First: the expiry function finds the `Timer` at the `timer_list`'s address.
    #[pin]
    raw: Opaque<bindings::timer_list>,
    slot: AtomicPtr<T>,
    dead: AtomicBool,
    _p: PhantomData<Arc<T>>,
}

// SAFETY: the timer is driven through the kernel's thread-safe timer API and atomics;
// the `Arc<T>` it holds is `Send + Sync` because `T: Send + Sync`.
unsafe impl<T: Fire> Send for Timer<T> {}
// SAFETY: as above.
unsafe impl<T: Fire> Sync for Timer<T> {}

impl<T: Fire> Timer<T> {
    /// A disarmed timer. A deferrable one does not wake an idle CPU: it runs with that
    /// CPU's next other work, possibly late.
    pub(crate) fn new(deferrable: bool) -> impl PinInit<Self> {
        let flags = if deferrable {
            bindings::TIMER_DEFERRABLE
        } else {
            0
        };
        pin_init!(Self {
            // SAFETY: `p` points to the pinned, uninitialised `timer_list`, which
            // `init_timer_key` fully initialises; the name and key are static.
            raw <- Opaque::ffi_init(|p| unsafe {
                bindings::init_timer_key(
                    p,
                    Some(Self::expired),
                    flags,
                    kernel::c_str!("mptcp_proxy_timer").as_char_ptr(),
                    KEY.0.get(),
                )
            }),
            slot: AtomicPtr::new(ptr::null_mut()),
            dead: AtomicBool::new(false),
            _p: PhantomData,
        })
    }

    /// Arms the timer to fire `ms` milliseconds from now with a reference on `this`.
    /// Already armed, it is brought forward to this time if that is earlier (two arms
    /// racing may leave the later of their times). Shut down, nothing.
    pub(crate) fn arm(&self, this: &Arc<T>, ms: u32) {
        if self.dead.load(Ordering::SeqCst) {
            return;
        }
        // SAFETY: reading the kernel's tick counter; a plain word, read once.
        let now = unsafe { ptr::read_volatile(ptr::addr_of!(bindings::jiffies)) };
        // SAFETY: pure conversion.
        let expires = now.wrapping_add(unsafe { bindings::__msecs_to_jiffies(ms) });
        let p = Arc::into_raw(this.clone()) as *mut T;
        if self
            .slot
            .compare_exchange(ptr::null_mut(), p, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // SAFETY: `p` came from `into_raw` above and was not stored.
            drop(unsafe { Arc::from_raw(p) });
            // Pending (or just firing, then a spare expiry finds the slot empty): bring
            // it forward. SAFETY: `raw` is initialised (invariant) and pinned; a no-op
            // after `timer_shutdown_sync`.
            unsafe { bindings::timer_reduce(self.raw.get(), expires) };
            return;
        }
        if self.dead.load(Ordering::SeqCst) {
            // `shutdown` ran meanwhile; it may or may not have taken the reference.
            self.release();
            return;
        }
        // SAFETY: `raw` is initialised (invariant) and pinned. After `timer_shutdown_sync`
        // this does nothing, so a race with `shutdown` cannot leave it armed.
        unsafe { bindings::mod_timer(self.raw.get(), expires) };
    }

    /// Drops the reference held for a pending expiry, if any.
    fn release(&self) {
        let p = self.slot.swap(ptr::null_mut(), Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: a non-null slot holds a pointer from `into_raw` (invariant), now
            // taken out of the slot, so it is released once.
            drop(unsafe { Arc::from_raw(p) });
        }
    }

    /// Cancels the timer for good and waits for a running expiry. Sleeps; not from the
    /// timer's own expiry.
    pub(crate) fn shutdown(&self) {
        self.dead.store(true, Ordering::SeqCst);
        // SAFETY: `raw` is initialised; process context.
        unsafe { bindings::timer_shutdown_sync(self.raw.get()) };
        self.release();
    }

    /// The timer's function.
    ///
    /// # Safety
    ///
    /// Only the timer code calls it, for a timer set up in [`Timer::new`].
    unsafe extern "C" fn expired(t: *mut bindings::timer_list) {
        // Only timers set up in `new` call this; `PinnedDrop` shuts them down before
        // freeing, and `fire` never drops the owner's last reference (see `Fire`).
        // SAFETY: so `t` is the `raw` field, first in `repr(C)`, of a live `Timer<T>`.
        let this = unsafe { &*(t as *const Self) };
        let p = this.slot.swap(ptr::null_mut(), Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: taken out of the slot: this reference is ours alone.
            T::fire(unsafe { Arc::from_raw(p) });
        }
    }
}

#[pinned_drop]
impl<T: Fire> PinnedDrop for Timer<T> {
    fn drop(self: Pin<&mut Self>) {
        // Normally already shut down by the owner; this waits for a racing expiry
        // that found the slot empty.
        // SAFETY: `raw` is initialised.
        unsafe { bindings::timer_shutdown_sync(self.raw.get()) };
        self.release();
    }
}
