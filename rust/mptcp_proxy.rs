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
    /// The proxy's work items run here; dropping it waits for all of them.
    wq: sys::workqueue::OwnedQueue,
}

/// The module's [`Shared`] state, installed at load and freed at unload.
static SHARED: sys::global::Global<Shared> = sys::global::Global::new();

/// The module's data in each network namespace.
#[derive(Zeroable)]
struct NetData {
    lia: lia::Stats,
    proxy: proxy::NetProxy,
    hooks: sys::netfilter::Hooks,
    sysctls: sys::sysctl::Slot,
}

impl PernetData for NetData {
    fn init(net: &Net, data: &Self) -> Result {
        let files = [
            (kernel::c_str!("lia"), lia::show_conns as sys::proc::ShowFn),
            (kernel::c_str!("lia_stat"), lia::show_stats),
            (kernel::c_str!("mptcp_proxy_stat"), proxy::show_stats),
        ];
        for (i, (name, show)) in files.iter().enumerate() {
            if let Err(e) = sys::proc::create(net, name, *show) {
                for (name, _) in &files[..i] {
                    sys::proc::remove(net, name);
                }
                return Err(e);
            }
        }
        let r = data
            .sysctls
            .register::<NetData>(net)
            .and_then(|()| data.hooks.register::<NetData>(net));
        if let Err(e) = r {
            Self::exit(net, data);
            return Err(e);
        }
        Ok(())
    }

    fn exit(net: &Net, data: &Self) {
        data.hooks.unregister(net);
        data.sysctls.unregister();
        data.proxy.exit();
        for name in [
            kernel::c_str!("mptcp_proxy_stat"),
            kernel::c_str!("lia_stat"),
            kernel::c_str!("lia"),
        ] {
            sys::proc::remove(net, name);
        }
    }
}

impl sys::netfilter::SynHook for NetData {
    fn on_syn(net: &Net, data: &Self, syn: &proxy::gate::Syn<'_>) -> sys::netfilter::Verdict {
        data.proxy.on_syn(net, syn)
    }

    fn on_out_syn(
        _net: &Net,
        data: &Self,
        _syn: &proxy::gate::Syn<'_>,
        ct: &sys::netfilter::Conntrack,
        tcp: &[u8],
    ) -> Option<proxy::tag::Tagged> {
        data.proxy.on_out_syn(ct, tcp)
    }
}

impl sys::sysctl::Sysctls for NetData {
    const PATH: &'static CStr = kernel::c_str!("net/mptcp_proxy");
    const NAMES: &'static [&'static CStr] = &proxy::SYSCTL_NAMES;

    fn get(&self, _net: &Net, idx: usize, w: &mut dyn core::fmt::Write) -> core::fmt::Result {
        self.proxy.sysctl_get(idx, w)
    }

    fn set(&self, net: &Net, idx: usize, text: &str) -> Result {
        self.proxy.sysctl_set(net, idx, text)
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
        let wq = sys::workqueue::OwnedQueue::new()?;
        let shared = KBox::pin_init(
            pin_init!(Shared {
                lia <- lia::Registry::new(),
                wq,
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
