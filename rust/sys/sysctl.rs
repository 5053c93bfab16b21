// SPDX-License-Identifier: GPL-2.0

//! Per-namespace sysctls whose values a Rust type reads and writes as text.
//!
//! C header: [`include/linux/sysctl.h`](srctree/include/linux/sysctl.h)

use core::fmt::{self, Write};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::alloc::{flags::GFP_KERNEL, KVec};
use kernel::bindings;
use kernel::error::{code::*, Error, Result};
use kernel::init::Zeroable;
use kernel::str::CStr;

use super::net::{Net, PernetData};

/// Largest value, as text, that reads and writes handle.
pub(crate) const MAX_TEXT: usize = 512;

/// A namespace's sysctl directory whose entries `T` implements.
pub(crate) trait Sysctls: PernetData {
    /// The directory, e.g. `net/mptcp_proxy`.
    const PATH: &'static CStr;
    /// The entries' names, each NUL-terminated; their index is passed to `get` and `set`.
    const NAMES: &'static [&'static str];
    /// Writing needs `CAP_NET_ADMIN` in the initial user namespace (the host's
    /// administrator), not only in the namespace's own: root of a container gets
    /// `EPERM`. In a namespace that a container owns the entries are also read-only
    /// (0444), so that a file it opened cannot be handed to a privileged writer.
    const HOST_ADMIN_ONLY: bool;
    /// Writes the value of entry `idx`.
    fn get(&self, net: &Net, idx: usize, w: &mut dyn Write) -> fmt::Result;
    /// Sets entry `idx` from text (without the trailing newline); an error leaves the
    /// value unchanged and is returned to the writer (e.g. `EINVAL`).
    fn set(&self, net: &Net, idx: usize, text: &str) -> Result;
}

/// Where a namespace's registration lives (in its pernet data; zeroed: nothing).
pub(crate) struct Slot {
    header: AtomicPtr<bindings::ctl_table_header>,
    table: AtomicPtr<bindings::ctl_table>,
    len: AtomicUsize,
    cap: AtomicUsize,
}

// SAFETY: null pointers and a zero length are the empty slot.
unsafe impl Zeroable for Slot {}

impl Slot {
    /// Registers `T`'s entries in `net`.
    pub(crate) fn register<T: Sysctls>(&self, net: &Net) -> Result {
        let n = T::NAMES.len();
        let mode = if T::HOST_ADMIN_ONLY && !net.owned_by_host() {
            0o444
        } else {
            0o644
        };
        let mut table = KVec::<bindings::ctl_table>::with_capacity(n, GFP_KERNEL)?;
        for (i, name) in T::NAMES.iter().enumerate() {
            let name = CStr::from_bytes_with_nul(name.as_bytes()).map_err(|_| EINVAL)?;
            let e = bindings::ctl_table {
                procname: name.as_char_ptr(),
                mode,
                proc_handler: Some(handler::<T>),
                // CAST: the index and the namespace travel in the entry's spare pointers.
                extra1: i as *mut kernel::ffi::c_void,
                extra2: net.as_ptr().cast(),
                ..Default::default()
            };
            table.push(e, GFP_KERNEL)?;
        }
        let (tp, len, cap) = table.into_raw_parts();
        // SAFETY: `tp` holds `len` valid entries that live until `unregister`, and the
        // path is a valid string; the namespace is alive (called from its init).
        let hdr = unsafe {
            bindings::register_net_sysctl_sz(net.as_ptr(), T::PATH.as_char_ptr(), tp, len)
        };
        if hdr.is_null() {
            // SAFETY: back from `into_raw_parts`, not registered.
            drop(unsafe { KVec::from_raw_parts(tp, len, cap) });
            return Err(ENOMEM);
        }
        self.table.store(tp, Ordering::Release);
        self.len.store(len, Ordering::Release);
        self.cap.store(cap, Ordering::Release);
        self.header.store(hdr, Ordering::Release);
        Ok(())
    }

    /// Unregisters (waits for running handlers) and frees the table.
    pub(crate) fn unregister(&self) {
        let hdr = self.header.swap(ptr::null_mut(), Ordering::AcqRel);
        if !hdr.is_null() {
            // SAFETY: registered in `register`.
            unsafe { bindings::unregister_net_sysctl_table(hdr) };
        }
        let tp = self.table.swap(ptr::null_mut(), Ordering::AcqRel);
        let len = self.len.swap(0, Ordering::AcqRel);
        let cap = self.cap.swap(0, Ordering::AcqRel);
        if !tp.is_null() {
            // SAFETY: from `into_raw_parts` with this length and capacity, no longer
            // referenced once unregistered.
            drop(unsafe { KVec::from_raw_parts(tp, len, cap) });
        }
    }
}

/// A fixed buffer that `fmt::Write` fills.
struct Buf {
    b: [u8; MAX_TEXT],
    n: usize,
}

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self
            .n
            .checked_add(s.len())
            .filter(|&e| e <= MAX_TEXT)
            .ok_or(fmt::Error)?;
        self.b[self.n..end].copy_from_slice(s.as_bytes());
        self.n = end;
        Ok(())
    }
}

/// The `proc_handler` of every entry [`Slot::register`] makes.
///
/// # Safety
///
/// Only the sysctl code calls it, for a registered entry, with a kernel buffer of
/// `*lenp` bytes and a valid position.
unsafe extern "C" fn handler<T: Sysctls>(
    table: *const bindings::ctl_table,
    write: kernel::ffi::c_int,
    buffer: *mut kernel::ffi::c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> kernel::ffi::c_int {
    // SAFETY: the kernel passes the entry registered in `Slot::register` (its spare
    // pointers hold the index and the namespace, alive while the table is registered),
    // a kernel buffer of `*lenp` bytes and a valid position.
    let (idx, net, buf, len, pos) = unsafe {
        let idx = (*table).extra1 as usize;
        let net = Net::from_raw((*table).extra2.cast());
        (idx, net, buffer.cast::<u8>(), &mut *lenp, &mut *ppos)
    };
    let Some(data) = net.data::<T>() else {
        return EINVAL.to_errno();
    };
    if write != 0 {
        // SAFETY: `capable()` checks the current task's credentials against the initial
        // user namespace; any context where a sysctl handler runs may call it.
        if T::HOST_ADMIN_ONLY && !unsafe { bindings::capable(bindings::CAP_NET_ADMIN as i32) } {
            return EPERM.to_errno();
        }
        if *pos != 0 || *len > MAX_TEXT {
            return EINVAL.to_errno();
        }
        // SAFETY: `buf` holds `*len` bytes written by the user (see above).
        let bytes = unsafe { core::slice::from_raw_parts(buf, *len) };
        let Ok(text) = core::str::from_utf8(bytes) else {
            return EINVAL.to_errno();
        };
        let text = text.trim_end_matches(['\n', '\0']);
        match data.set(net, idx, text) {
            Ok(()) => {
                *pos += *len as bindings::loff_t;
                0
            }
            Err(e) => Error::to_errno(e),
        }
    } else {
        let mut out = Buf {
            b: [0; MAX_TEXT],
            n: 0,
        };
        if data.get(net, idx, &mut out).is_err() || out.write_str("\n").is_err() {
            return EINVAL.to_errno();
        }
        // A position past the end (a reader that seeks) reads nothing.
        let start = usize::try_from(*pos).unwrap_or(0).min(out.n);
        let n = (out.n - start).min(*len);
        // SAFETY: `buf` has room for `*len` >= `n` bytes; `start + n <= out.n`.
        unsafe { ptr::copy_nonoverlapping(out.b.as_ptr().add(start), buf, n) };
        *len = n;
        *pos += n as bindings::loff_t;
        0
    }
}
