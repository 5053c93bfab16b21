// SPDX-License-Identifier: GPL-2.0

//! The thin layer between the kernel's C interfaces and the module's safe logic.
//!
//! Every `unsafe` block and every use of `kernel::bindings` in the crate lives under this
//! directory. Each wrapper turns a C object or callback into a safe Rust value or trait
//! call, and a decision of the logic back into what the kernel expects.

pub(crate) mod cong;
pub(crate) mod global;
pub(crate) mod net;
pub(crate) mod netfilter;
pub(crate) mod proc;
pub(crate) mod rcu;
pub(crate) mod sockaddr;
pub(crate) mod socket;
pub(crate) mod stats;
pub(crate) mod sync;
pub(crate) mod sysctl;
pub(crate) mod tcp;
pub(crate) mod time;
pub(crate) mod timer;
pub(crate) mod workqueue;

/// Adds a `field=value` string to the module's `.modinfo` section, as `module!` does for
/// its own keys (6.12's `module!` has no `version` key). Same attributes as `module!`'s,
/// or the linker makes a second `.modinfo` section that modpost does not read.
macro_rules! modinfo {
    ($field:ident, $value:literal) => {
        const _: () = {
            const S: &str = concat!(stringify!($field), "=", $value, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static MODINFO: [u8; S.len()] = {
                let b = S.as_bytes();
                let mut out = [0u8; S.len()];
                let mut i = 0;
                while i < b.len() {
                    out[i] = b[i];
                    i += 1;
                }
                out
            };
        };
    };
}
pub(crate) use modinfo;
