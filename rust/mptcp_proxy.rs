// SPDX-License-Identifier: GPL-2.0

//! mptcp_proxy: an MPTCP-to-TCP proxy and the `lia` coupled congestion control for the
//! in-kernel MPTCP stack.
//!
//! The crate has three parts. `sys` is the only place with `unsafe` code and raw
//! `bindings::` use: thin wrappers over the kernel's C interfaces. `lia` and `proxy` hold
//! the logic in safe Rust; their pure files (no `kernel::` imports) also build on the host,
//! where `host/` runs them under `cargo test`.

use kernel::prelude::*;

mod lia;
mod proxy;
mod sys;

use sys::net::{Net, PernetData};

module! {
    type: MptcpProxy,
    name: "mptcp_proxy",
    author: "mptcp-proxy developers",
    description: "MPTCP proxy to legacy TCP servers and lia coupled congestion control",
    license: "GPL",
}

sys::modinfo!(version, "0.1.0");

/// State shared by all namespaces, reachable from C callbacks through [`SHARED`].
#[pin_data]
struct Shared {
    #[pin]
    lia: lia::Registry,
}

/// The module's [`Shared`] state, installed at load and freed at unload.
static SHARED: sys::global::Global<Shared> = sys::global::Global::new();

/// The module's data in each network namespace.
#[derive(Zeroable)]
struct NetData {
    lia: lia::Stats,
}

impl PernetData for NetData {
    fn init(net: &Net, _data: &Self) -> Result {
        sys::proc::create(net, kernel::c_str!("lia"), lia::show_conns)?;
        if let Err(e) = sys::proc::create(net, kernel::c_str!("lia_stat"), lia::show_stats) {
            sys::proc::remove(net, kernel::c_str!("lia"));
            return Err(e);
        }
        Ok(())
    }

    fn exit(net: &Net, _data: &Self) {
        sys::proc::remove(net, kernel::c_str!("lia_stat"));
        sys::proc::remove(net, kernel::c_str!("lia"));
    }
}

/// The loaded module. Fields drop in order: the registrations whose callbacks use
/// [`SHARED`] first, then the shared state itself.
struct MptcpProxy {
    _lia: sys::cong::Registration<lia::Lia>,
    _pernet: sys::net::Registration<NetData>,
    _shared: sys::global::Installed<Shared>,
}

impl kernel::Module for MptcpProxy {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let shared = KBox::pin_init(
            pin_init!(Shared {
                lia <- lia::Registry::new(),
            }),
            GFP_KERNEL,
        )?;
        let shared = SHARED.install(shared)?;
        let pernet = sys::net::Registration::<NetData>::register()?;
        let lia = sys::cong::Registration::<lia::Lia>::register(module)?;
        pr_info!("loaded (version {}): congestion control \"lia\"\n", sys::VERSION);
        Ok(MptcpProxy {
            _lia: lia,
            _pernet: pernet,
            _shared: shared,
        })
    }
}

impl Drop for MptcpProxy {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
