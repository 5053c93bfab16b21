// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks per namespace on locally delivered and locally generated IPv4 and
//! IPv6 packets, the packets they see ([`Skb`]), and what conntrack knows about them.
//!
//! C headers: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h),
//! [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h),
//! [`include/net/netfilter/nf_conntrack.h`](srctree/include/net/netfilter/nf_conntrack.h),
//! [`include/net/netfilter/ipv4/nf_reject.h`](srctree/include/net/netfilter/ipv4/nf_reject.h)

use kernel::bindings;
use kernel::error::{to_result, Result};
use kernel::init::Zeroable;
use kernel::types::Opaque;

use super::net::{Net, PernetData};
use crate::inet::addr::{Addr, Family};
use crate::inet::syn::Packet;

/// What a hook does with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let it through.
    Accept,
    /// Drop it and answer with a TCP reset (for a TCP packet; as nftables' `reject with
    /// tcp reset`).
    Reset,
}

/// A packet in a netfilter hook, from its network header on.
///
/// # Invariants
///
/// Wraps a valid `struct sk_buff` that the running hook owns for the lifetime of the
/// reference, with its network header at `data` (netfilter's IPv4 and IPv6 hooks). Only
/// that hook reads or changes it meanwhile: changes go through `&self` (the bytes are in
/// an `Opaque`).
#[repr(transparent)]
pub(crate) struct Skb(Opaque<bindings::sk_buff>);

impl Skb {
    /// # Safety
    ///
    /// `skb` must be the packet of a running netfilter hook, not used elsewhere while the
    /// reference lives, and `'a` must end before the hook returns.
    unsafe fn from_raw<'a>(skb: *mut bindings::sk_buff) -> &'a Skb {
        // SAFETY: `Skb` is `repr(transparent)` over `sk_buff`, valid per the caller.
        unsafe { &*skb.cast::<Skb>() }
    }

    fn as_ptr(&self) -> *mut bindings::sk_buff {
        self.0.get()
    }

    /// Whether the device (or the stack, later) completes the transport checksum
    /// (`CHECKSUM_PARTIAL`).
    pub(crate) fn checksum_partial(&self) -> bool {
        // SAFETY: valid skb per the type invariants.
        let anon = unsafe { (*self.as_ptr()).__bindgen_anon_4.__bindgen_anon_1.as_ref() };
        anon.ip_summed() as u32 == bindings::CHECKSUM_PARTIAL
    }

    /// Writes `head` at the start of the packet and replaces everything from `off` on with
    /// `tail` (at least as long as what it replaces: the packet grows or keeps its
    /// length). The caller has set complete checksums in both, or the transport checksum
    /// is partial (see [`Skb::checksum_partial`]); any other checksum state is dropped.
    /// `false` if the packet cannot be changed (then it is unchanged).
    pub(crate) fn rewrite(&self, head: &[u8], off: usize, tail: &[u8]) -> bool {
        let skb = self.as_ptr();
        // SAFETY: valid skb, ours to modify in the hook (type invariants). Every access
        // below is within the linear, writable area that skb_ensure_writable() and the
        // tailroom check guarantee.
        unsafe {
            let len = (*skb).len as usize;
            if off > len || head.len() > off || tail.len() < len - off {
                return false;
            }
            let delta = tail.len() - (len - off);
            if bindings::skb_ensure_writable(skb, len as u32) != 0 {
                return false;
            }
            let room = bindings::skb_tailroom(skb) as usize;
            if room < delta
                && bindings::pskb_expand_head(skb, 0, (delta - room) as i32, bindings::GFP_ATOMIC)
                    != 0
            {
                return false;
            }
            bindings::skb_put(skb, delta as u32);
            let data = (*skb).data;
            core::ptr::copy_nonoverlapping(head.as_ptr(), data, head.len());
            core::ptr::copy_nonoverlapping(tail.as_ptr(), data.add(off), tail.len());
            let anon = (*skb).__bindgen_anon_4.__bindgen_anon_1.as_mut();
            if anon.ip_summed() as u32 != bindings::CHECKSUM_PARTIAL {
                anon.set_ip_summed(bindings::CHECKSUM_NONE as u8);
            }
        }
        true
    }

    /// What conntrack knows of the packet's connection, if it tracks it.
    pub(crate) fn conntrack(&self) -> Option<Conntrack> {
        // SAFETY: valid skb; `_nfct` holds the conntrack pointer with the ctinfo in its
        // low three bits (nf_ct_get()).
        let nfct = unsafe { (*self.as_ptr())._nfct };
        let ct = (nfct & !7usize) as *const bindings::nf_conn;
        if ct.is_null() {
            return None;
        }
        // SAFETY: the skb holds a reference on its conntrack entry; `status` changes with
        // atomic bit operations (read whole), `mark` with WRITE_ONCE; the original tuple
        // is fixed once the entry exists.
        unsafe {
            let status = core::ptr::read_volatile(core::ptr::addr_of!((*ct).status));
            let mark = core::ptr::read_volatile(core::ptr::addr_of!((*ct).mark));
            let orig =
                &(*ct).tuplehash[bindings::ip_conntrack_dir_IP_CT_DIR_ORIGINAL as usize].tuple;
            let orig_daddr = if orig.src.l3num as u32 == bindings::NFPROTO_IPV4 {
                Addr::V4(orig.dst.u3.ip.to_ne_bytes())
            } else {
                let mut b = [0u8; 16];
                for (i, x) in orig.dst.u3.ip6.iter().enumerate() {
                    b[4 * i..4 * i + 4].copy_from_slice(&x.to_ne_bytes());
                }
                Addr::V6(b)
            };
            Some(Conntrack {
                dnat: status & (bindings::ip_conntrack_status_IPS_DST_NAT as kernel::ffi::c_ulong)
                    != 0,
                mark,
                orig_daddr,
                orig_dport: u16::from_be(orig.dst.u.tcp.port),
            })
        }
    }
}

impl Packet for Skb {
    fn packet_len(&self) -> usize {
        // SAFETY: valid skb per the type invariants.
        unsafe { (*self.as_ptr()).len as usize }
    }

    fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        let (Ok(o), Ok(n)) = (i32::try_from(off), i32::try_from(buf.len())) else {
            return false;
        };
        // SAFETY: valid skb; skb_header_pointer() copies at most `n` bytes into `buf`, or
        // returns a pointer to `n` linear bytes, or NULL if the packet is shorter.
        let p =
            unsafe { bindings::skb_header_pointer(self.as_ptr(), o, n, buf.as_mut_ptr().cast()) };
        if p.is_null() {
            return false;
        }
        if p.cast::<u8>() != buf.as_mut_ptr() {
            // SAFETY: `p` points at `n` readable bytes of the packet's linear area, which
            // do not overlap `buf`.
            unsafe { core::ptr::copy_nonoverlapping(p.cast::<u8>(), buf.as_mut_ptr(), buf.len()) };
        }
        true
    }

    fn ipv6_transport(&self) -> Option<(usize, u8)> {
        let mut nexthdr: u8 = 0;
        let mut frag: u16 = 0;
        if !self.read(6, core::slice::from_mut(&mut nexthdr)) {
            return None;
        }
        // SAFETY: valid skb; the out-parameters are valid locals.
        let off = unsafe {
            bindings::ipv6_skip_exthdr(
                self.as_ptr(),
                40,
                &mut nexthdr,
                (&mut frag as *mut u16).cast(),
            )
        };
        (off >= 0 && frag == 0).then_some((off as usize, nexthdr))
    }
}

/// What conntrack knows about a packet's connection.
pub(crate) struct Conntrack {
    /// The destination was rewritten by NAT (a DNAT rule).
    pub(crate) dnat: bool,
    /// The connection's conntrack mark (`ct mark`).
    pub(crate) mark: u32,
    /// The destination the application asked for, before NAT.
    pub(crate) orig_daddr: Addr,
    pub(crate) orig_dport: u16,
}

/// The pernet data of a module with netfilter hooks.
pub(crate) trait NetHooks: PernetData {
    /// Every locally delivered packet of `family`, after conntrack and NAT (LOCAL_IN,
    /// filter priority), in softirq.
    fn local_in(net: &Net, data: &Self, family: Family, skb: &Skb) -> Verdict;
    /// Every locally generated packet of `family`, right after the DNAT of locally
    /// generated packets (LOCAL_OUT, NAT_DST + 1), which may rewrite it; always let
    /// through.
    fn local_out(net: &Net, data: &Self, family: Family, skb: &Skb);
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
    pub(crate) fn register<T: NetHooks>(&self, net: &Net) -> Result {
        let ops = self.0.get().cast::<bindings::nf_hook_ops>();
        let v4 = bindings::NFPROTO_IPV4 as u8;
        let v6 = bindings::NFPROTO_IPV6 as u8;
        let table: [(u8, u32, i32, bindings::nf_hookfn); NHOOKS] = [
            // After conntrack and NAT: a DNAT to a local port is seen here.
            (
                v4,
                LOCAL_IN,
                bindings::nf_ip_hook_priorities_NF_IP_PRI_FILTER,
                Some(hook_in::<T>),
            ),
            (
                v6,
                LOCAL_IN,
                bindings::nf_ip_hook_priorities_NF_IP_PRI_FILTER,
                Some(hook_in::<T>),
            ),
            // Right after the DNAT of locally generated packets.
            (
                v4,
                LOCAL_OUT,
                bindings::nf_ip_hook_priorities_NF_IP_PRI_NAT_DST + 1,
                Some(hook_out::<T>),
            ),
            (
                v6,
                LOCAL_OUT,
                bindings::nf_ip6_hook_priorities_NF_IP6_PRI_NAT_DST + 1,
                Some(hook_out::<T>),
            ),
        ];
        for (i, (pf, hooknum, priority, hook)) in table.into_iter().enumerate() {
            let o = bindings::nf_hook_ops {
                hook,
                pf,
                hooknum,
                priority,
                ..Default::default()
            };
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

    /// Unregisters the hooks (no-op for unregistered ones) without waiting: a hook that
    /// started before may still run until the next RCU grace period, and reads the pernet
    /// data, so call it in `pre_exit` (the kernel waits for one before `exit` and the
    /// freeing of the data) or wait for one before the data goes.
    pub(crate) fn unregister(&self, net: &Net) {
        let ops = self.0.get().cast::<bindings::nf_hook_ops>();
        // Netfilter's old hook arrays keep pointers to the entries (`orig_ops`, read under
        // RCU by nfnetlink_hook dumps) until a grace period has passed: the entries stay in
        // memory that long (the pernet data is freed after one), and a dump in between may
        // see one zeroed.
        for i in 0..NHOOKS {
            // SAFETY: the entries are plain data in our pernet block; a registered entry
            // has its `hook` set (see `register`); see above for their lifetime.
            unsafe {
                if (*ops.add(i)).hook.is_some() {
                    bindings::nf_unregister_net_hook(net.as_ptr(), ops.add(i));
                    ops.add(i).write_bytes(0, 1);
                }
            }
        }
    }
}

/// The family of a hook's protocol, `None` for others.
fn family(pf: u8) -> Option<Family> {
    match pf as u32 {
        bindings::NFPROTO_IPV4 => Some(Family::V4),
        bindings::NFPROTO_IPV6 => Some(Family::V6),
        _ => None,
    }
}

/// The LOCAL_IN hook function of [`Hooks::register`].
///
/// # Safety
///
/// Only netfilter calls it, with the hook's packet and a valid state.
unsafe extern "C" fn hook_in<T: NetHooks>(
    _priv: *mut kernel::ffi::c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> kernel::ffi::c_uint {
    // SAFETY: netfilter passes a valid state whose namespace is alive during the hook.
    let (net, pf, sk) = unsafe { (Net::from_raw((*state).net), (*state).pf, (*state).sk) };
    let (Some(family), Some(data)) = (family(pf), net.data::<T>()) else {
        return bindings::NF_ACCEPT;
    };
    // SAFETY: the hook's own packet, not used elsewhere until we return.
    let pkt = unsafe { Skb::from_raw(skb) };
    match T::local_in(net, data, family, pkt) {
        Verdict::Accept => bindings::NF_ACCEPT,
        Verdict::Reset => {
            // SAFETY: valid namespace and packet, from the LOCAL_IN hook; the functions
            // build and send a reset answering `skb` without consuming it.
            unsafe {
                match family {
                    Family::V4 => bindings::nf_send_reset(net.as_ptr(), sk, skb, LOCAL_IN as i32),
                    Family::V6 => bindings::nf_send_reset6(net.as_ptr(), sk, skb, LOCAL_IN as i32),
                }
            }
            bindings::NF_DROP
        }
    }
}

/// The LOCAL_OUT hook function of [`Hooks::register`].
///
/// # Safety
///
/// Only netfilter calls it, with the hook's packet and a valid state.
unsafe extern "C" fn hook_out<T: NetHooks>(
    _priv: *mut kernel::ffi::c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> kernel::ffi::c_uint {
    // SAFETY: netfilter passes a valid state whose namespace is alive during the hook.
    let (net, pf) = unsafe { (Net::from_raw((*state).net), (*state).pf) };
    if let (Some(family), Some(data)) = (family(pf), net.data::<T>()) {
        // SAFETY: the hook's own packet, not used elsewhere until we return.
        T::local_out(net, data, family, unsafe { Skb::from_raw(skb) });
    }
    bindings::NF_ACCEPT
}
