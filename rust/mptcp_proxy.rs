// SPDX-License-Identifier: GPL-2.0

//! mptcp_proxy: an MPTCP-to-TCP proxy and the `lia` coupled congestion control for the
//! in-kernel MPTCP stack.
//!
//! The crate has three parts. `sys` is the only place with `unsafe` code and raw
//! `bindings::` use: thin wrappers over the kernel's C interfaces. `lia` and `proxy` hold
//! the logic in safe Rust; their pure files (no `kernel::` imports) also build on the host,
//! where `host/` runs them under `cargo test`.

use kernel::prelude::*;

mod sys;

module! {
    type: MptcpProxy,
    name: "mptcp_proxy",
    author: "mptcp-proxy developers",
    description: "MPTCP proxy to legacy TCP servers and lia coupled congestion control",
    license: "GPL",
}

sys::modinfo!(version, "0.1.0");

struct MptcpProxy;

impl kernel::Module for MptcpProxy {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded (version {})\n", sys::VERSION);
        Ok(MptcpProxy)
    }
}

impl Drop for MptcpProxy {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
