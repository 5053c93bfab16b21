// SPDX-License-Identifier: GPL-2.0

//! Network values and header logic shared by `sys` and the parts above it: addresses and
//! prefixes ([`addr`]), numbers as text ([`num`]), the Internet checksum ([`csum`]) and
//! TCP SYNs in IP packets ([`syn`]).
//!
//! Pure: no kernel imports; `host/` builds these files too.

// The pure files say `pub` because the host crate (host/) exports them.
#[allow(unreachable_pub, dead_code)]
pub(crate) mod addr;
#[allow(unreachable_pub, dead_code)]
pub(crate) mod csum;
#[allow(unreachable_pub)]
pub(crate) mod num;
#[allow(unreachable_pub, dead_code)]
pub(crate) mod syn;
