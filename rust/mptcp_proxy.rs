// SPDX-License-Identifier: GPL-2.0

//! mptcp_proxy: an MPTCP-to-TCP proxy and the `lia` and `olia` coupled congestion
//! controls for the in-kernel MPTCP stack.
//!
//! The crate has four parts. `sys` is the only place with `unsafe` code and raw
//! `bindings::` use: thin, generic wrappers over the kernel's C interfaces, which know
//! nothing of the parts above them. `inet` holds the network values and header logic
//! that `sys` and the rest share. `lia` and `proxy` hold the logic in safe Rust. The pure
//! files (no `kernel::` imports: all of `inet`, `counters.rs`, and the files the parts'
//! `mod.rs` mark so) also build on the host, where `host/` runs them under `cargo test`.

// pin_init! of the proxy's runtime (a dozen fields) expands deeper than the default.
#![recursion_limit = "256"]

use kernel::prelude::*;

#[macro_use]
mod counters;
mod inet;
mod lia;
mod proxy;
mod sys;

use inet::addr::Family;
use sys::net::{Net, PernetData};
use sys::netfilter::{Skb, Verdict};

module! {
    type: MptcpProxy,
    name: "mptcp_proxy",
    author: "mptcp-proxy developers",
    description: "MPTCP proxy to legacy TCP servers and the lia and olia coupled congestion controls",
    license: "GPL",
}

sys::modinfo!(version, "0.1.0");

/// State shared by all namespaces, reachable from C callbacks through [`SHARED`].
#[pin_data]
struct Shared {
    /// The proxy's work items run here; dropping it waits for all of them.
    wq: sys::workqueue::OwnedQueue,
    /// Serialises writers of the `net.mptcp_proxy` sysctls (of every namespace: writes
    /// are rare, and a port change waits for the old proxy's work while holding it).
    #[pin]
    config_lock: kernel::sync::Mutex<()>,
}

/// The module's [`Shared`] state, installed at load and freed at unload.
static SHARED: sys::global::Global<Shared> = sys::global::Global::new();

/// The module's data in each network namespace.
#[derive(Zeroable)]
struct NetData {
    lia: lia::NetLia,
    proxy: proxy::NetProxy,
    hooks: sys::netfilter::Hooks,
    sysctls: sys::sysctl::Slot,
}

impl PernetData for NetData {
    fn init(net: &Net, data: &Self) -> Result {
        data.lia.init()?;
        for (i, (name, show)) in PROC_FILES.iter().enumerate() {
            if let Err(e) = sys::proc::create(net, name, *show) {
                for (name, _) in &PROC_FILES[..i] {
                    sys::proc::remove(net, name);
                }
                Self::undo(net, data);
                return Err(e);
            }
        }
        let r = data
            .sysctls
            .register::<NetData>(net)
            .and_then(|()| data.hooks.register::<NetData>(net));
        if let Err(e) = r {
            data.sysctls.unregister();
            Self::remove_files(net);
            Self::undo(net, data);
            return Err(e);
        }
        Ok(())
    }

    fn pre_exit(net: &Net, data: &Self) {
        // No new packets in the gate, no sysctl writer (unregistering waits for those
        // running); then unpublish what softirq readers may hold.
        data.hooks.unregister(net);
        data.sysctls.unregister();
        data.proxy.pre_exit();
        data.lia.pre_exit();
    }

    fn exit(net: &Net, data: &Self) {
        data.proxy.exit();
        data.lia.exit();
        Self::remove_files(net);
    }
}

/// The `/proc/net` files of each namespace: made in this order by `init`, removed in the
/// reverse order.
const PROC_FILES: [(&CStr, sys::proc::ShowFn); 4] = [
    (kernel::c_str!("lia"), lia::show_conns),
    (kernel::c_str!("lia_stat"), lia::show_stats),
    (kernel::c_str!("mptcp_proxy_stat"), show_proxy_stats),
    (kernel::c_str!("mptcp_proxy"), show_proxy_conns),
];

impl NetData {
    fn remove_files(net: &Net) {
        for (name, _) in PROC_FILES.iter().rev() {
            sys::proc::remove(net, name);
        }
    }

    /// `init` failed after the registry was made (and maybe hooks registered): unpublish,
    /// then free; the kernel frees the data on return. Freeing the retired registry, which
    /// always exists here, waits for a grace period, and so for the hooks too.
    fn undo(net: &Net, data: &Self) {
        data.hooks.unregister(net);
        data.proxy.pre_exit();
        data.lia.pre_exit();
        data.proxy.exit();
        data.lia.exit();
    }
}

/// `/proc/net/mptcp_proxy_stat`.
fn show_proxy_stats(w: &mut sys::proc::SeqWriter, net: &Net) {
    if let Some(data) = net.data::<NetData>() {
        data.proxy.show_stats(w);
    }
}

/// `/proc/net/mptcp_proxy`.
fn show_proxy_conns(w: &mut sys::proc::SeqWriter, net: &Net) {
    if let Some(data) = net.data::<NetData>() {
        data.proxy.show_conns(w, net);
    }
}

impl sys::netfilter::NetHooks for NetData {
    fn local_in(net: &Net, data: &Self, family: Family, skb: &Skb) -> Verdict {
        data.proxy.local_in(net, family, skb)
    }

    fn local_out(_net: &Net, data: &Self, family: Family, skb: &Skb) {
        data.proxy.local_out(family, skb)
    }
}

impl sys::sysctl::Sysctls for NetData {
    const PATH: &'static CStr = kernel::c_str!("net/mptcp_proxy");
    const NAMES: &'static [&'static str] = &proxy::config::NAMES;
    // The proxy opens sockets to targets for remote clients and holds their buffers in
    // the kernel, charged to no one's memory cgroup: only the host's administrator may
    // start or configure it (Documentation/proxy-admin.rst, "Privileges").
    const HOST_ADMIN_ONLY: bool = true;

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
    _olia: sys::cong::Registration<lia::Olia>,
    _pernet: sys::net::Registration<NetData>,
    _shared: sys::global::Installed<Shared>,
}

impl kernel::Module for MptcpProxy {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let wq = sys::workqueue::OwnedQueue::new()?;
        let shared = KBox::pin_init(
            pin_init!(Shared {
                wq,
                config_lock <- kernel::new_mutex!((), "mptcp_proxy_config"),
            }),
            GFP_KERNEL,
        )?;
        let shared = SHARED.install(shared)?;
        let pernet = sys::net::Registration::<NetData>::register()?;
        let lia = sys::cong::Registration::<lia::Lia>::register(module)?;
        let olia = sys::cong::Registration::<lia::Olia>::register(module)?;
        Ok(MptcpProxy {
            _lia: lia,
            _olia: olia,
            _pernet: pernet,
            _shared: shared,
        })
    }
}
