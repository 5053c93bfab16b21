// SPDX-License-Identifier: GPL-2.0

//! A netfilter hook on locally delivered TCP SYNs (IPv4 and IPv6), per namespace, that
//! can answer a SYN with a reset.
//!
//! C headers: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h),
//! [`include/net/netfilter/ipv4/nf_reject.h`](srctree/include/net/netfilter/ipv4/nf_reject.h)

use core::mem::MaybeUninit;
use kernel::bindings;
use kernel::error::{to_result, Result};
use kernel::init::Zeroable;
use kernel::types::Opaque;

use super::net::{Net, PernetData};
use crate::proxy::gate::Syn;
use crate::proxy::policy::Addr;

// The pointers are to kernel structures that bindgen lays out only partly; they are
// passed through untouched, never dereferenced on the Rust side.
#[allow(improper_ctypes)]
extern "C" {
    // Exported by net/ipv4/netfilter/nf_reject_ipv4.c and its IPv6 twin; their headers
    // are not in the bindings.
    fn nf_send_reset(net: *mut bindings::net, sk: *mut bindings::sock, oldskb: *mut bindings::sk_buff, hook: kernel::ffi::c_int);
    fn nf_send_reset6(net: *mut bindings::net, sk: *mut bindings::sock, oldskb: *mut bindings::sk_buff, hook: kernel::ffi::c_int);
}

/// What the hook does with a SYN.
pub(crate) enum Verdict {
    /// Let it through.
    Accept,
    /// Drop it and answer with a TCP reset.
    Reset,
}

/// The pernet data of a module that inspects SYNs.
pub(crate) trait SynHook: PernetData {
    /// Called for every locally delivered TCP SYN without ACK, in softirq.
    fn on_syn(net: &Net, data: &Self, syn: &Syn<'_>) -> Verdict;
}

/// The hook registrations of one namespace (in its pernet data; zeroed: none).
pub(crate) struct Hooks(Opaque<[bindings::nf_hook_ops; 2]>);

// SAFETY: `Opaque` may hold any bytes; zero is "not registered".
unsafe impl Zeroable for Hooks {}

// SAFETY: the entries are only written by `register` and `unregister`, which the pernet
// init and exit of one namespace call, never concurrently; netfilter reads them under
// its own synchronisation (RCU) while they are registered.
unsafe impl Sync for Hooks {}
// SAFETY: plain data, see `Sync`.
unsafe impl Send for Hooks {}

const LOCAL_IN: u32 = bindings::nf_inet_hooks_NF_INET_LOCAL_IN;

impl Hooks {
    /// Registers the IPv4 and IPv6 hooks of `T` in `net`.
    pub(crate) fn register<T: SynHook>(&self, net: &Net) -> Result {
        let ops = self.0.get().cast::<bindings::nf_hook_ops>();
        for (i, pf) in [bindings::NFPROTO_IPV4, bindings::NFPROTO_IPV6].into_iter().enumerate() {
            let mut o = bindings::nf_hook_ops::default();
            o.hook = Some(hook::<T>);
            o.pf = pf as u8;
            o.hooknum = LOCAL_IN;
            // After conntrack and NAT: a DNAT to the proxy port is seen here.
            o.priority = bindings::nf_ip_hook_priorities_NF_IP_PRI_FILTER;
            // SAFETY: `ops` points at two entries of this pernet data, which lives until
            // the namespace's exit, where `unregister` runs first.
            unsafe { ops.add(i).write(o) };
            // SAFETY: valid namespace and a fully initialised, stable ops entry.
            let r = to_result(unsafe { bindings::nf_register_net_hook(net.as_ptr(), ops.add(i)) });
            if let Err(e) = r {
                if i == 1 {
                    // SAFETY: entry 0 was registered just before.
                    unsafe { bindings::nf_unregister_net_hook(net.as_ptr(), ops) };
                }
                // SAFETY: `ops` entries are plain data.
                unsafe { ops.write_bytes(0, 2) };
                return Err(e);
            }
        }
        Ok(())
    }

    /// Unregisters both hooks (waits for running ones); no-op if not registered.
    pub(crate) fn unregister(&self, net: &Net) {
        let ops = self.0.get().cast::<bindings::nf_hook_ops>();
        for i in 0..2 {
            // SAFETY: the entries are plain data in our pernet block; a registered entry
            // has its `hook` set (see `register`).
            unsafe {
                if (*ops.add(i)).hook.is_some() {
                    bindings::nf_unregister_net_hook(net.as_ptr(), ops.add(i));
                    ops.add(i).write_bytes(0, 1);
                }
            }
        }
    }
}

/// Reads `N` bytes at `off` of the packet (copying if not linear).
fn read<const N: usize>(skb: *mut bindings::sk_buff, off: usize) -> Option<[u8; N]> {
    let mut buf = MaybeUninit::<[u8; N]>::uninit();
    // SAFETY: `skb` is the hook's packet; skb_header_pointer() copies at most N bytes
    // into `buf` or returns a pointer to N linear bytes, or NULL if the packet is short.
    let p = unsafe { bindings::skb_header_pointer(skb, off as i32, N as i32, buf.as_mut_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` points at N readable bytes (see above).
    Some(unsafe { p.cast::<[u8; N]>().read_unaligned() })
}

/// Extracts a SYN's addresses, ports and option bytes; `None` for anything else.
fn parse_syn(skb: *mut bindings::sk_buff, pf: u8, opts: &mut [u8; 40]) -> Option<(Addr, Addr, u16, u16, usize)> {
    let (saddr, daddr, thoff) = if pf as u32 == bindings::NFPROTO_IPV4 {
        let ip: [u8; 20] = read(skb, 0)?;
        let ihl = ((ip[0] & 0xf) as usize) * 4;
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        if ip[9] != 6 || ihl < 20 || frag & 0x3fff != 0 {
            return None; // not TCP, or a fragment
        }
        let s = Addr::V4([ip[12], ip[13], ip[14], ip[15]]);
        let d = Addr::V4([ip[16], ip[17], ip[18], ip[19]]);
        (s, d, ihl)
    } else {
        let ip: [u8; 40] = read(skb, 0)?;
        let mut nexthdr = ip[6];
        let mut frag: u16 = 0;
        // SAFETY: valid skb; the out-parameters are valid locals.
        let off = unsafe {
            bindings::ipv6_skip_exthdr(skb, 40, &mut nexthdr, (&mut frag as *mut u16).cast())
        };
        if off < 0 || nexthdr != 6 || frag != 0 {
            return None;
        }
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s.copy_from_slice(&ip[8..24]);
        d.copy_from_slice(&ip[24..40]);
        (Addr::V6(s), Addr::V6(d), off as usize)
    };
    let th: [u8; 20] = read(skb, thoff)?;
    let flags = th[13];
    // SYN set, ACK and RST clear.
    if flags & 0x02 == 0 || flags & 0x14 != 0 {
        return None;
    }
    let doff = ((th[12] >> 4) as usize) * 4;
    if doff < 20 {
        return None;
    }
    let olen = doff - 20;
    if olen > 0 {
        let all: [u8; 40] = match read::<40>(skb, thoff + 20) {
            Some(a) => a,
            None => {
                // Shorter than 40 option bytes in the packet: read what the header says.
                let mut a = [0u8; 40];
                for (i, b) in a.iter_mut().enumerate().take(olen) {
                    *b = read::<1>(skb, thoff + 20 + i)?[0];
                }
                a
            }
        };
        opts[..olen].copy_from_slice(&all[..olen]);
    }
    let sport = u16::from_be_bytes([th[0], th[1]]);
    let dport = u16::from_be_bytes([th[2], th[3]]);
    Some((saddr, daddr, sport, dport, olen))
}

unsafe extern "C" fn hook<T: SynHook>(
    _priv: *mut kernel::ffi::c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> kernel::ffi::c_uint {
    // SAFETY: netfilter passes a valid state whose namespace is alive during the hook.
    let (net, pf, sk) = unsafe { (Net::from_raw((*state).net), (*state).pf, (*state).sk) };
    let mut opts = [0u8; 40];
    let Some((saddr, daddr, sport, dport, olen)) = parse_syn(skb, pf, &mut opts) else {
        return bindings::NF_ACCEPT;
    };
    let Some(data) = net.data::<T>() else {
        return bindings::NF_ACCEPT;
    };
    let syn = Syn {
        saddr,
        daddr,
        sport,
        dport,
        options: &opts[..olen],
    };
    match T::on_syn(net, data, &syn) {
        Verdict::Accept => bindings::NF_ACCEPT,
        Verdict::Reset => {
            // SAFETY: valid namespace and packet, from the LOCAL_IN hook; the functions
            // build and send a reset answering `skb` without consuming it.
            unsafe {
                if pf as u32 == bindings::NFPROTO_IPV4 {
                    nf_send_reset(net.as_ptr(), sk, skb, LOCAL_IN as i32);
                } else {
                    nf_send_reset6(net.as_ptr(), sk, skb, LOCAL_IN as i32);
                }
            }
            bindings::NF_DROP
        }
    }
}
