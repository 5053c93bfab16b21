// SPDX-License-Identifier: GPL-2.0

//! The module's own workqueue: destroying it waits for every queued item, which is what
//! unloading needs.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use kernel::bindings;
use kernel::error::{code::ENOMEM, Result};
use kernel::workqueue::Queue;

/// An allocated workqueue, destroyed (after draining) on drop.
///
/// # Invariants
///
/// `wq` is a valid workqueue from `alloc_workqueue`, owned by this value.
pub(crate) struct OwnedQueue {
    wq: *mut bindings::workqueue_struct,
}

// SAFETY: workqueues may be used and destroyed from any thread.
unsafe impl Send for OwnedQueue {}
// SAFETY: queueing is thread-safe.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// Allocates a workqueue named `mptcp_proxy`. Unbound: a relay's work item is woken
    /// from the softirq that received the data, usually on the CPU of the process that
    /// sent it (veth, loopback, a busy NIC queue); bound work would share that CPU with
    /// the sender while another sits idle.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: a valid format string without arguments; default concurrency.
        let wq = unsafe {
            bindings::alloc_workqueue(
                kernel::c_str!("mptcp_proxy").as_char_ptr(),
                bindings::wq_flags_WQ_UNBOUND,
                0,
            )
        };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self { wq })
    }

    /// The queue, to enqueue work items on.
    pub(crate) fn queue(&self) -> &Queue {
        // SAFETY: valid for as long as `self` (the invariants).
        unsafe { Queue::from_raw(self.wq) }
    }

    /// Waits until every item queued so far has run. Sleeps.
    pub(crate) fn flush(&self) {
        // SAFETY: valid workqueue.
        unsafe { bindings::__flush_workqueue(self.wq) };
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: owned; destroying drains the queue first.
        unsafe { bindings::destroy_workqueue(self.wq) };
    }
}
