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
use crate::proxy::tag::{self, Tagged, MAX_HEADER};

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

/// What conntrack knows about an outgoing SYN's connection.
pub(crate) struct Conntrack {
    /// The destination was rewritten by NAT (a DNAT rule).
    pub(crate) dnat: bool,
    /// The connection's conntrack mark (`ct mark`).
    pub(crate) mark: u32,
    /// The destination the application asked for, before NAT.
    pub(crate) orig_daddr: Addr,
    pub(crate) orig_dport: u16,
}

/// The pernet data of a module that inspects SYNs.
pub(crate) trait SynHook: PernetData {
    /// Called for every locally delivered TCP SYN without ACK, in softirq.
    fn on_syn(net: &Net, data: &Self, syn: &Syn<'_>) -> Verdict;
    /// Called for every locally generated TCP SYN without ACK that conntrack tracks,
    /// after NAT, with its TCP header; returns a replacement header (longer, for an
    /// added option), or `None` to leave it alone.
    fn on_out_syn(net: &Net, data: &Self, syn: &Syn<'_>, ct: &Conntrack, tcp: &[u8]) -> Option<Tagged>;
}

/// The hook registrations of one namespace (in its pernet data; zeroed: none): IPv4 and
/// IPv6 at LOCAL_IN, then IPv4 and IPv6 at LOCAL_OUT.
pub(crate) struct Hooks(Opaque<[bindings::nf_hook_ops; NHOOKS]>);

const NHOOKS: usize = 4;

// SAFETY: `Opaque` may hold any bytes; zero is "not registered".
unsafe impl Zeroable for Hooks {}

// SAFETY: the entries are only written by `register` and `unregister`, which the pernet
// init and exit of one namespace call, never concurrently; netfilter reads them under
// its own synchronisation (RCU) while they are registered.
unsafe impl Sync for Hooks {}
// SAFETY: plain data, see `Sync`.
unsafe impl Send for Hooks {}

const LOCAL_IN: u32 = bindings::nf_inet_hooks_NF_INET_LOCAL_IN;
const LOCAL_OUT: u32 = bindings::nf_inet_hooks_NF_INET_LOCAL_OUT;

impl Hooks {
    /// Registers the hooks of `T` in `net`.
    pub(crate) fn register<T: SynHook>(&self, net: &Net) -> Result {
        let ops = self.0.get().cast::<bindings::nf_hook_ops>();
        let v4 = bindings::NFPROTO_IPV4 as u8;
        let v6 = bindings::NFPROTO_IPV6 as u8;
        let table: [(u8, u32, i32, bindings::nf_hookfn); NHOOKS] = [
            // After conntrack and NAT: a DNAT to the proxy port is seen here.
            (v4, LOCAL_IN, bindings::nf_ip_hook_priorities_NF_IP_PRI_FILTER, Some(hook_in::<T>)),
            (v6, LOCAL_IN, bindings::nf_ip_hook_priorities_NF_IP_PRI_FILTER, Some(hook_in::<T>)),
            // Right after the DNAT of locally generated packets.
            (v4, LOCAL_OUT, bindings::nf_ip_hook_priorities_NF_IP_PRI_NAT_DST + 1, Some(hook_out::<T>)),
            (v6, LOCAL_OUT, bindings::nf_ip6_hook_priorities_NF_IP6_PRI_NAT_DST + 1, Some(hook_out::<T>)),
        ];
        for (i, (pf, hooknum, priority, hook)) in table.into_iter().enumerate() {
            let mut o = bindings::nf_hook_ops::default();
            o.hook = hook;
            o.pf = pf;
            o.hooknum = hooknum;
            o.priority = priority;
            // SAFETY: `ops` points at NHOOKS entries of this pernet data, which lives
            // until the namespace's exit, where `unregister` runs first.
            unsafe { ops.add(i).write(o) };
            // SAFETY: valid namespace and a fully initialised, stable ops entry.
            let r = to_result(unsafe { bindings::nf_register_net_hook(net.as_ptr(), ops.add(i)) });
            if let Err(e) = r {
                // SAFETY: entry `i` was not registered: clear it so `unregister` skips it.
                unsafe { ops.add(i).write_bytes(0, 1) };
                self.unregister(net);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Unregisters the hooks and waits until none runs any more (the pernet data they
    /// read is freed right after the namespace's exit); no-op for unregistered ones.
    pub(crate) fn unregister(&self, net: &Net) {
        let ops = self.0.get().cast::<bindings::nf_hook_ops>();
        let mut any = false;
        for i in 0..NHOOKS {
            // SAFETY: the entries are plain data in our pernet block; a registered entry
            // has its `hook` set (see `register`).
            unsafe {
                if (*ops.add(i)).hook.is_some() {
                    bindings::nf_unregister_net_hook(net.as_ptr(), ops.add(i));
                    ops.add(i).write_bytes(0, 1);
                    any = true;
                }
            }
        }
        if any {
            // SAFETY: process context (pernet exit); hooks run under RCU.
            unsafe { bindings::synchronize_net() };
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
/// Also returns the offset of the TCP header.
fn parse_syn(skb: *mut bindings::sk_buff, pf: u8, opts: &mut [u8; 40]) -> Option<(Addr, Addr, u16, u16, usize, usize)> {
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
    Some((saddr, daddr, sport, dport, olen, thoff))
}

unsafe extern "C" fn hook_in<T: SynHook>(
    _priv: *mut kernel::ffi::c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> kernel::ffi::c_uint {
    // SAFETY: netfilter passes a valid state whose namespace is alive during the hook.
    let (net, pf, sk) = unsafe { (Net::from_raw((*state).net), (*state).pf, (*state).sk) };
    let mut opts = [0u8; 40];
    let Some((saddr, daddr, sport, dport, olen, _)) = parse_syn(skb, pf, &mut opts) else {
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

/// What conntrack knows of `skb`'s connection, if it tracks it.
fn conntrack(skb: *mut bindings::sk_buff) -> Option<Conntrack> {
    // SAFETY: valid skb; `_nfct` holds the conntrack pointer with the ctinfo in its low
    // three bits (nf_ct_get()).
    let nfct = unsafe { (*skb)._nfct } as usize;
    let ct = (nfct & !7usize) as *const bindings::nf_conn;
    if ct.is_null() {
        return None;
    }
    // SAFETY: the skb holds a reference on its conntrack entry; `status` changes with
    // atomic bit operations (read whole), `mark` with WRITE_ONCE; the original tuple is
    // fixed once the entry exists.
    unsafe {
        let status = core::ptr::read_volatile(core::ptr::addr_of!((*ct).status));
        let mark = core::ptr::read_volatile(core::ptr::addr_of!((*ct).mark));
        let orig = &(*ct).tuplehash[bindings::ip_conntrack_dir_IP_CT_DIR_ORIGINAL as usize].tuple;
        let orig_daddr = if orig.src.l3num as u32 == bindings::NFPROTO_IPV4 {
            Addr::V4(orig.dst.u3.ip.to_ne_bytes())
        } else {
            let w = orig.dst.u3.ip6;
            let mut b = [0u8; 16];
            for (i, x) in w.iter().enumerate() {
                b[4 * i..4 * i + 4].copy_from_slice(&x.to_ne_bytes());
            }
            Addr::V6(b)
        };
        Some(Conntrack {
            dnat: status & (bindings::ip_conntrack_status_IPS_DST_NAT as kernel::ffi::c_ulong) != 0,
            mark,
            orig_daddr,
            orig_dport: u16::from_be(orig.dst.u.tcp.port),
        })
    }
}

/// Replaces the TCP header (at `thoff`, the end of the packet: a SYN without data) with
/// `new`, fixing the IP length and both checksums. `false` if the packet cannot be
/// changed (then it is unchanged).
fn rewrite(skb: *mut bindings::sk_buff, pf: u8, thoff: usize, saddr: Addr, daddr: Addr, new: &[u8]) -> bool {
    // SAFETY: `skb` is the hook's packet, ours to modify in LOCAL_OUT. Every access below
    // is within the linear, writable area that skb_ensure_writable() and the tailroom
    // check guarantee.
    unsafe {
        let len = (*skb).len as usize;
        if thoff >= len || new.len() < len - thoff || new.len() > MAX_HEADER {
            return false;
        }
        let delta = new.len() - (len - thoff);
        if bindings::skb_ensure_writable(skb, len as u32) != 0 {
            return false;
        }
        let tail = bindings::skb_tailroom(skb);
        if (tail as usize) < delta
            && bindings::pskb_expand_head(skb, 0, (delta - tail as usize) as i32, bindings::GFP_ATOMIC) != 0
        {
            return false;
        }
        bindings::skb_put(skb, delta as u32);
        let data = (*skb).data;
        core::ptr::copy_nonoverlapping(new.as_ptr(), data.add(thoff), new.len());
        if pf as u32 == bindings::NFPROTO_IPV4 {
            // tot_len at offset 2, then the header checksum.
            let tot = (thoff + new.len()) as u16;
            data.add(2).cast::<[u8; 2]>().write(tot.to_be_bytes());
            bindings::ip_send_check(data.cast());
        } else {
            // payload_len at offset 4: everything after the 40-byte fixed header.
            let pl = (thoff + new.len() - 40) as u16;
            data.add(4).cast::<[u8; 2]>().write(pl.to_be_bytes());
        }
        let th = core::slice::from_raw_parts_mut(data.add(thoff), new.len());
        let anon = (*skb).__bindgen_anon_4.__bindgen_anon_1.as_mut();
        let check = if anon.ip_summed() as u32 == bindings::CHECKSUM_PARTIAL {
            tag::partial_check(saddr, daddr, new.len() as u32)
        } else {
            anon.set_ip_summed(bindings::CHECKSUM_NONE as u8);
            tag::full_check(saddr, daddr, th)
        };
        th[16..18].copy_from_slice(&check.to_be_bytes());
    }
    true
}

unsafe extern "C" fn hook_out<T: SynHook>(
    _priv: *mut kernel::ffi::c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> kernel::ffi::c_uint {
    // SAFETY: netfilter passes a valid state whose namespace is alive during the hook.
    let (net, pf) = unsafe { (Net::from_raw((*state).net), (*state).pf) };
    let mut opts = [0u8; 40];
    let Some((saddr, daddr, sport, dport, olen, thoff)) = parse_syn(skb, pf, &mut opts) else {
        return bindings::NF_ACCEPT;
    };
    let (Some(ct), Some(data)) = (conntrack(skb), net.data::<T>()) else {
        return bindings::NF_ACCEPT;
    };
    let Some(tcp) = read::<MAX_HEADER>(skb, thoff).or_else(|| {
        // Shorter than the longest header: copy what there is.
        let mut h = [0u8; MAX_HEADER];
        for (i, b) in h.iter_mut().enumerate().take(20 + olen) {
            *b = read::<1>(skb, thoff + i)?[0];
        }
        Some(h)
    }) else {
        return bindings::NF_ACCEPT;
    };
    // SAFETY: valid skb.
    let seglen = unsafe { (*skb).len } as usize - thoff;
    if seglen > MAX_HEADER {
        return bindings::NF_ACCEPT; // carries data: not a SYN we tag
    }
    let syn = Syn {
        saddr,
        daddr,
        sport,
        dport,
        options: &opts[..olen],
    };
    if let Some(new) = T::on_out_syn(net, data, &syn, &ct, &tcp[..seglen]) {
        // A packet that cannot be rewritten goes out untagged; the proxy refuses it.
        let _ = rewrite(skb, pf, thoff, saddr, daddr, &new.header[..new.len]);
    }
    bindings::NF_ACCEPT
}
