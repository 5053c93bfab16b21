// SPDX-License-Identifier: GPL-2.0

//! TCP congestion-control algorithms (`struct tcp_congestion_ops`) as a Rust trait.
//!
//! An algorithm implements [`CongestionOps`]; [`Registration`] builds the C ops table
//! whose `extern "C"` trampolines call the trait, registers it, and unregisters it on drop.
//! The per-socket private data lives in `icsk_ca_priv`, typed as
//! [`CongestionOps::Priv`].
//!
//! C header: [`include/net/tcp.h`](srctree/include/net/tcp.h)

use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::ptr::addr_of_mut;
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::bindings;
use kernel::error::{code::EINVAL, to_result, Result};
use kernel::init::Zeroable;
use kernel::str::CStr;
use kernel::ThisModule;

use super::tcp::TcpSock;

/// Size of `icsk_ca_priv`, the per-socket private area of a congestion control.
pub(crate) const CA_PRIV_SIZE: usize = bindings::ICSK_CA_PRIV_SIZE;

/// A congestion-control algorithm.
///
/// The TCP stack serialises the callbacks of one socket (socket lock, or the socket's
/// softirq processing). They may run in softirq: they must not sleep. The kernel also
/// calls `release` on MPTCP connection sockets (`mptcp_ca_reset()`), which are not TCP
/// sockets, right after assigning the algorithm (the private area zeroed): the
/// trampoline does not pass those on, so every callback sees TCP sockets only.
pub(crate) trait CongestionOps: Sync + Sized + 'static {
    /// Per-socket state in `icsk_ca_priv`. The kernel zeroes that area when it assigns
    /// the algorithm, and may call `release` without `init`, so the all-zero value must be
    /// the "nothing set up" state. It does not always zero it before `init`: a passive
    /// child socket starts with a byte copy of its listener's area (zero in practice, as
    /// `init` never runs on listeners), so `init` must overwrite, not release, what it finds.
    type Priv: Zeroable;

    /// The name selected by sysctl and `TCP_CONGESTION` (at most 15 bytes).
    const NAME: &'static CStr;

    /// The connection reached a state where congestion control starts.
    fn init(sk: &TcpSock, p: &mut Self::Priv);
    /// The socket stops using the algorithm (closed, or another one selected).
    fn release(sk: &TcpSock, p: &mut Self::Priv);
    /// Slow-start threshold after a loss.
    fn ssthresh(sk: &TcpSock, p: &mut Self::Priv) -> u32;
    /// The window to restore when a loss turns out to be spurious.
    fn undo_cwnd(sk: &TcpSock, p: &mut Self::Priv) -> u32;
    /// An ACK acknowledged `acked` packets outside loss recovery.
    fn cong_avoid(sk: &TcpSock, p: &mut Self::Priv, ack: u32, acked: u32);
    /// The congestion state changed (`TCP_CA_*`), after the stack set the new window.
    fn set_state(sk: &TcpSock, p: &mut Self::Priv, new_state: u8);
    /// An ACK arrived while data was outstanding (`pkts_acked`): in any congestion
    /// state, also a duplicate or SACK-only ACK that acknowledged nothing new, with
    /// `snd_una` already advanced and before the ACK's loss handling and `cong_avoid`.
    /// On an active open it runs once, for the SYN-ACK, before `init` (as `ssthresh`
    /// and `cwnd_event` may, after a SYN timeout: on the zeroed area). Does nothing by
    /// default.
    fn pkts_acked(_sk: &TcpSock, _p: &mut Self::Priv, _sample: AckSample) {}
    /// `cwnd_event`: one of the stack's [`CaEvent`]s. Does nothing by default.
    fn cwnd_event(_sk: &TcpSock, _p: &mut Self::Priv, _ev: CaEvent) {}
}

/// The events of `cwnd_event` that an algorithm may act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CaEvent {
    /// `CA_EVENT_CWND_RESTART`: the socket sends again after an idle period, and
    /// `tcp_cwnd_restart()` is about to shrink the window (halved per RTO of idle, not
    /// below the restart window) and set `ssthresh` to `tcp_current_ssthresh()`: both
    /// still have their old values during the callback.
    CwndRestart,
    /// Any other event.
    Other,
}

/// What the stack tells `pkts_acked` of an ACK (`struct ack_sample`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AckSample {
    /// The RTT sample of the ACK (microseconds), if it gave one (from the newest packet
    /// it acknowledged or SACKed; without timestamps, none for retransmitted data).
    pub(crate) rtt_us: Option<u32>,
}

/// `TCP_CA_Loss`: a retransmission timeout; the window was just set to what is in flight.
pub(crate) const CA_LOSS: u8 = bindings::tcp_ca_state_TCP_CA_Loss as u8;

/// A registered congestion-control algorithm; unregisters on drop.
///
/// Sockets using the algorithm hold a reference on the owning module, so the module (and
/// this registration) outlives them: `rmmod` fails with `EBUSY` while any socket uses it.
pub(crate) struct Registration<T: CongestionOps> {
    ops: *mut bindings::tcp_congestion_ops,
    _t: PhantomData<T>,
}

// SAFETY: the registration only holds the ops table owned by the kernel while registered;
// unregistering from any thread is allowed.
unsafe impl<T: CongestionOps> Send for Registration<T> {}
// SAFETY: no method takes `&self`.
unsafe impl<T: CongestionOps> Sync for Registration<T> {}

impl<T: CongestionOps> Registration<T> {
    /// Registers `T` under [`CongestionOps::NAME`], owned by `module`. Fails with `EEXIST`
    /// if an algorithm of that name exists.
    pub(crate) fn register(module: &'static ThisModule) -> Result<Self> {
        const {
            assert!(size_of::<T::Priv>() <= CA_PRIV_SIZE);
            assert!(align_of::<T::Priv>() <= align_of::<u64>());
        }
        let name = T::NAME.as_bytes();
        if name.is_empty() || name.len() >= bindings::TCP_CA_NAME_MAX as usize {
            return Err(EINVAL);
        }
        let mut ops = bindings::tcp_congestion_ops::default();
        for (dst, src) in ops.name.iter_mut().zip(name) {
            *dst = *src as _;
        }
        ops.owner = module.as_ptr();
        ops.init = Some(init_callback::<T>);
        ops.release = Some(release_callback::<T>);
        ops.ssthresh = Some(ssthresh_callback::<T>);
        ops.undo_cwnd = Some(undo_cwnd_callback::<T>);
        ops.cong_avoid = Some(cong_avoid_callback::<T>);
        ops.set_state = Some(set_state_callback::<T>);
        ops.pkts_acked = Some(pkts_acked_callback::<T>);
        ops.cwnd_event = Some(cwnd_event_callback::<T>);
        let ops = KBox::into_raw(KBox::new(ops, GFP_KERNEL)?);
        // SAFETY: `ops` is a valid, complete table that lives until `drop`.
        if let Err(e) = to_result(unsafe { bindings::tcp_register_congestion_control(ops) }) {
            // SAFETY: registration failed: the kernel does not reference `ops`.
            drop(unsafe { KBox::from_raw(ops) });
            return Err(e);
        }
        Ok(Self {
            ops,
            _t: PhantomData,
        })
    }
}

impl<T: CongestionOps> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`. No socket uses it (they hold module references,
        // and the module is being unloaded); unregistering waits for an RCU grace period.
        unsafe { bindings::tcp_unregister_congestion_control(self.ops) };
        // SAFETY: no longer referenced by the kernel.
        drop(unsafe { KBox::from_raw(self.ops) });
    }
}

/// # Safety
///
/// `sk` must be a TCP socket whose congestion-control callback `T` is running.
unsafe fn split<'a, T: CongestionOps>(sk: *mut bindings::sock) -> (&'a TcpSock, &'a mut T::Priv) {
    // CAST: a TCP socket's `sock` starts its `inet_connection_sock`.
    let icsk = sk.cast::<bindings::inet_connection_sock>();
    // `icsk_ca_priv` is part of the socket, large and aligned enough for `T::Priv`
    // (checked in `register`), zeroed by the kernel before first use (a valid `T::Priv`,
    // which is `Zeroable`), only touched by `T`'s callbacks, which the stack serialises.
    // SAFETY: as above; `TcpSock`'s methods never touch that area.
    unsafe {
        let p = addr_of_mut!((*icsk).icsk_ca_priv).cast::<T::Priv>();
        (TcpSock::from_raw(sk), &mut *p)
    }
}

/// The TCP stack's `init` of `T`'s ops table.
///
/// # Safety
///
/// Only the TCP stack calls it, through the ops table [`Registration`] registered,
/// with a TCP socket using `T` whose callbacks it serialises.
unsafe extern "C" fn init_callback<T: CongestionOps>(sk: *mut bindings::sock) {
    // SAFETY: called by the TCP stack as `T`'s `init`.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::init(sk, p)
}

/// The TCP stack's `release` of `T`'s ops table.
///
/// # Safety
///
/// Only the kernel calls it, through the ops table [`Registration`] registered: for a
/// TCP socket using `T` whose callbacks it serialises, or for an MPTCP connection
/// socket that was just assigned `T` (`mptcp_ca_reset()`).
unsafe extern "C" fn release_callback<T: CongestionOps>(sk: *mut bindings::sock) {
    // SAFETY: `sk` is a valid socket; its protocol is set at creation.
    if unsafe { (*sk).sk_protocol } != bindings::IPPROTO_TCP as u16 {
        // An MPTCP connection socket: not a `tcp_sock`, and nothing was set up for it
        // (`init` never runs on it).
        return;
    }
    // SAFETY: called by the TCP stack as `T`'s `release`, for a TCP socket.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::release(sk, p)
}

/// The TCP stack's `ssthresh` of `T`'s ops table.
///
/// # Safety
///
/// Only the TCP stack calls it, through the ops table [`Registration`] registered,
/// with a TCP socket using `T` whose callbacks it serialises.
unsafe extern "C" fn ssthresh_callback<T: CongestionOps>(sk: *mut bindings::sock) -> u32 {
    // SAFETY: called by the TCP stack as `T`'s `ssthresh`.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::ssthresh(sk, p)
}

/// The TCP stack's `undo_cwnd` of `T`'s ops table.
///
/// # Safety
///
/// Only the TCP stack calls it, through the ops table [`Registration`] registered,
/// with a TCP socket using `T` whose callbacks it serialises.
unsafe extern "C" fn undo_cwnd_callback<T: CongestionOps>(sk: *mut bindings::sock) -> u32 {
    // SAFETY: called by the TCP stack as `T`'s `undo_cwnd`.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::undo_cwnd(sk, p)
}

/// The TCP stack's `cong_avoid` of `T`'s ops table.
///
/// # Safety
///
/// Only the TCP stack calls it, through the ops table [`Registration`] registered,
/// with a TCP socket using `T` whose callbacks it serialises.
unsafe extern "C" fn cong_avoid_callback<T: CongestionOps>(
    sk: *mut bindings::sock,
    ack: u32,
    acked: u32,
) {
    // SAFETY: called by the TCP stack as `T`'s `cong_avoid`.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::cong_avoid(sk, p, ack, acked)
}

/// Per-socket private data holding one reference to an object shared between sockets,
/// plus two words for the algorithm. All-zero is "no object".
///
/// # Invariants
///
/// `shared` is null, or comes from `Arc::into_raw` and owns one reference.
#[repr(C)]
pub(crate) struct SharedPriv<T: Send + Sync> {
    shared: *const T,
    /// Free for the algorithm (e.g. an index into the shared object).
    pub(crate) slot: u32,
    /// Free for the algorithm.
    pub(crate) flags: u32,
}

// SAFETY: all-zero bytes are a null `shared` (no object) and two zero words.
unsafe impl<T: Send + Sync> Zeroable for SharedPriv<T> {}

impl<T: Send + Sync> SharedPriv<T> {
    /// The shared object, if one is held.
    pub(crate) fn get(&self) -> Option<&T> {
        // SAFETY: per the invariants, non-null `shared` is kept alive by our reference,
        // which is not given up while `&self` is borrowed.
        unsafe { self.shared.as_ref() }
    }

    /// Holds `obj`; returns the object held before, if any.
    pub(crate) fn set(&mut self, obj: kernel::sync::Arc<T>) -> Option<kernel::sync::Arc<T>> {
        let old = self.take();
        self.shared = kernel::sync::Arc::into_raw(obj);
        old
    }

    /// Forgets whatever the area holds without releasing it: for `init`, where the area
    /// may be a byte copy of another socket's (see [`CongestionOps::Priv`]) and never holds
    /// a reference of this socket (the kernel releases before it initialises again).
    pub(crate) fn reset(&mut self) {
        self.shared = core::ptr::null();
        self.slot = 0;
        self.flags = 0;
    }

    /// Gives up the held object.
    pub(crate) fn take(&mut self) -> Option<kernel::sync::Arc<T>> {
        let p = core::mem::replace(&mut self.shared, core::ptr::null());
        if p.is_null() {
            None
        } else {
            // SAFETY: per the invariants `p` came from `Arc::into_raw` and owned a
            // reference, now transferred back.
            Some(unsafe { kernel::sync::Arc::from_raw(p) })
        }
    }
}

/// The TCP stack's `set_state` of `T`'s ops table.
///
/// # Safety
///
/// Only the TCP stack calls it, through the ops table [`Registration`] registered,
/// with a TCP socket using `T` whose callbacks it serialises.
unsafe extern "C" fn set_state_callback<T: CongestionOps>(sk: *mut bindings::sock, new_state: u8) {
    // SAFETY: called by the TCP stack as `T`'s `set_state`.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::set_state(sk, p, new_state)
}

/// The TCP stack's `pkts_acked` of `T`'s ops table.
///
/// # Safety
///
/// Only the TCP stack calls it, through the ops table [`Registration`] registered,
/// with a TCP socket using `T` whose callbacks it serialises and a valid `sample` for
/// the duration of the call.
unsafe extern "C" fn pkts_acked_callback<T: CongestionOps>(
    sk: *mut bindings::sock,
    sample: *const bindings::ack_sample,
) {
    // SAFETY: the stack passes a valid sample, on its stack, for this call.
    let sample = unsafe { &*sample };
    let sample = AckSample {
        // Negative: no sample.
        rtt_us: u32::try_from(sample.rtt_us).ok(),
    };
    // SAFETY: called by the TCP stack as `T`'s `pkts_acked`.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::pkts_acked(sk, p, sample)
}

/// The TCP stack's `cwnd_event` of `T`'s ops table.
///
/// # Safety
///
/// Only the TCP stack calls it, through the ops table [`Registration`] registered,
/// with a TCP socket using `T` whose callbacks it serialises.
unsafe extern "C" fn cwnd_event_callback<T: CongestionOps>(
    sk: *mut bindings::sock,
    ev: bindings::tcp_ca_event,
) {
    let ev = if ev == bindings::tcp_ca_event_CA_EVENT_CWND_RESTART {
        CaEvent::CwndRestart
    } else {
        CaEvent::Other
    };
    // SAFETY: called by the TCP stack as `T`'s `cwnd_event`.
    let (sk, p) = unsafe { split::<T>(sk) };
    T::cwnd_event(sk, p, ev)
}
