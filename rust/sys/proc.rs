// SPDX-License-Identifier: GPL-2.0

//! Read-only `/proc/net` files, one per namespace, whose content a plain Rust function
//! writes with `core::fmt`.
//!
//! C headers: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h)

use core::fmt;
use kernel::bindings;
use kernel::error::{code::ENOMEM, Result};
use kernel::str::CStr;

use super::net::Net;

/// Writes into a `seq_file` buffer (the kernel retries `show` with a larger buffer when
/// it overflows, so writing never fails from the caller's point of view).
pub(crate) struct SeqWriter(*mut bindings::seq_file);

impl fmt::Write for SeqWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `self.0` is the live `seq_file` of the current `show` call.
        unsafe { bindings::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

impl SeqWriter {
    /// Whether whoever opened the file had `CAP_NET_ADMIN` over `net` (checked against
    /// the opener's credentials, as `file_ns_capable()` does, not the reader's).
    pub(crate) fn opener_net_admin(&self, net: &Net) -> bool {
        // SAFETY: `self.0` is the live `seq_file` of the current `show` call, whose `file`
        // is the open file; `net` is alive, and so is its user namespace.
        unsafe {
            bindings::file_ns_capable(
                (*self.0).file,
                (*net.as_ptr()).user_ns,
                bindings::CAP_NET_ADMIN as i32,
            )
        }
    }
}

/// What a file shows: called with the file's namespace.
pub(crate) type ShowFn = fn(&mut SeqWriter, &Net);

/// Creates `/proc/net/<name>` in `net`, shown by `show`.
pub(crate) fn create(net: &Net, name: &'static CStr, show: ShowFn) -> Result {
    // CAST: the function pointer travels as the entry's data and comes back in
    // `show_callback`, as the same type.
    let data = show as *mut kernel::ffi::c_void;
    // SAFETY: `name` is a valid NUL-terminated string, `net.proc_net()` the namespace's
    // live `/proc/net` directory; the callback has the signature the kernel expects.
    let pde = unsafe {
        bindings::proc_create_net_single(
            name.as_char_ptr(),
            0o444,
            net.proc_net(),
            Some(show_callback),
            data,
        )
    };
    if pde.is_null() {
        return Err(ENOMEM);
    }
    Ok(())
}

/// Removes `/proc/net/<name>` from `net` (waits for readers to finish).
pub(crate) fn remove(net: &Net, name: &'static CStr) {
    // SAFETY: `name` is valid; a missing entry is only logged by the kernel.
    unsafe { bindings::remove_proc_entry(name.as_char_ptr(), net.proc_net()) };
}

/// The `show` of every file [`create`] made.
///
/// # Safety
///
/// Only the seq_file code calls it, for a file [`create`] made and opened.
unsafe extern "C" fn show_callback(
    seq: *mut bindings::seq_file,
    _v: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    // `seq` is the live seq_file of a file opened with `single_open_net`: its `private` is
    // the namespace (`seq_file_single_net()` with CONFIG_NET_NS), held by the open file.
    // SAFETY: as above; `file->f_inode->i_private` is the entry's data (`pde_data()`),
    // set in `create` to a `ShowFn`.
    let (net, show) = unsafe {
        let net = Net::from_raw((*seq).private.cast());
        let data = (*(*(*seq).file).f_inode).i_private;
        // CAST: see `create`.
        let show: ShowFn = core::mem::transmute::<*mut kernel::ffi::c_void, ShowFn>(data);
        (net, show)
    };
    show(&mut SeqWriter(seq), net);
    0
}
