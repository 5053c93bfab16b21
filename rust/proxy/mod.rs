// SPDX-License-Identifier: GPL-2.0

//! The MPTCP proxy. So far its pure parts: the proxy-target option codec and the access
//! policy, built into the module (so they stay buildable under the kernel's flags) and
//! tested on the host. The netfilter hooks, listener and relay that use them are not
//! written yet.

// The pure files say `pub` because the host crate (host/) exports them; nothing in the
// module calls them yet.
#[allow(unreachable_pub, dead_code)]
pub(crate) mod option;
#[allow(unreachable_pub, dead_code)]
pub(crate) mod policy;
