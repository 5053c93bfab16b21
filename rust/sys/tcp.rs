// SPDX-License-Identifier: GPL-2.0

//! TCP sockets as congestion-control callbacks see them, and the MPTCP subflow context
//! of a TCP socket that is a subflow.
//!
//! C headers: [`include/net/tcp.h`](srctree/include/net/tcp.h),
//! [`include/linux/tcp.h`](srctree/include/linux/tcp.h),
//! [`net/mptcp/protocol.h`](srctree/net/mptcp/protocol.h)

use core::ptr::{addr_of, read_volatile};
use kernel::bindings;
use kernel::types::Opaque;

use super::net::Net;

/// A TCP socket inside a congestion-control callback.
///
/// # Invariants
///
/// Wraps a valid `struct sock` that is a `struct tcp_sock`, and the TCP stack serialises
/// congestion-control callbacks on it (socket lock or its softirq context) for as long as
/// the reference lives.
#[repr(transparent)]
pub(crate) struct TcpSock(Opaque<bindings::sock>);

/// Identifies one MPTCP connection: the address of its `struct mptcp_sock` and its local
/// token.
///
/// A subflow's context holds a reference on its MPTCP socket, dropped when the ULP is
/// released (after the congestion control) or earlier by `mptcp_subflow_drop_ctx()`
/// (closing a connection not yet accepted: the context goes, the subflow lives on as
/// plain TCP). After that, a congestion control that attached while the context was there
/// is still attached, and the MPTCP socket may be freed and its address reused by a new
/// connection. Tokens are unique among live connections, so the pair tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ConnKey(usize, u32);

impl ConnKey {
    /// The connection's local token.
    pub(crate) fn token(&self) -> u32 {
        self.1
    }
}

/// What a congestion-control algorithm needs to know about a subflow's MPTCP side.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Subflow {
    /// The connection the subflow belongs to.
    pub(crate) conn: ConnKey,
    /// The connection fell back to plain TCP.
    pub(crate) fallback: bool,
    /// The MPTCP stack marked the subflow stale (`net.mptcp.stale_loss_cnt` timeouts
    /// without progress): the scheduler sends nothing on it until it recovers.
    pub(crate) stale: bool,
    /// A backup subflow (either end asked, `MP_PRIO` or `MP_JOIN`'s B flag): the
    /// scheduler sends on it only while no other subflow can.
    pub(crate) backup: bool,
}

impl TcpSock {
    /// # Safety
    ///
    /// `sk` must be a valid TCP socket and the caller must be a congestion-control
    /// callback on it (see the type invariants) for the lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(sk: *mut bindings::sock) -> &'a TcpSock {
        // SAFETY: `TcpSock` is `repr(transparent)` over the `sock`, valid per the caller.
        unsafe { &*sk.cast::<TcpSock>() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::sock {
        self.0.get()
    }

    fn tp(&self) -> *mut bindings::tcp_sock {
        // CAST: a TCP socket's `struct sock` is the first member of its `struct tcp_sock`
        // (via `inet_connection_sock` and `inet_sock`).
        self.0.get().cast()
    }

    /// Congestion window, packets.
    pub(crate) fn cwnd(&self) -> u32 {
        // SAFETY: valid `tcp_sock` per the type invariants.
        unsafe { (*self.tp()).snd_cwnd }
    }

    /// Sets the congestion window (`tcp_snd_cwnd_set()`), at least one packet and at most
    /// the socket's clamp. A congestion-control callback owns the window.
    pub(crate) fn set_cwnd(&self, cwnd: u32) {
        let cwnd = cwnd.clamp(1, self.cwnd_clamp().max(1));
        // SAFETY: valid `tcp_sock`, callbacks serialised per the type invariants.
        unsafe { (*self.tp()).snd_cwnd = cwnd };
    }

    /// The largest window the socket allows (`snd_cwnd_clamp`), packets.
    pub(crate) fn cwnd_clamp(&self) -> u32 {
        // SAFETY: valid `tcp_sock` per the type invariants.
        unsafe { (*self.tp()).snd_cwnd_clamp }
    }

    /// The first unacknowledged sequence number (`snd_una`).
    pub(crate) fn snd_una(&self) -> u32 {
        // SAFETY: valid `tcp_sock`; written under the same serialisation.
        unsafe { (*self.tp()).snd_una }
    }

    /// Slow-start threshold, packets.
    pub(crate) fn ssthresh(&self) -> u32 {
        // SAFETY: valid `tcp_sock` per the type invariants.
        unsafe { (*self.tp()).snd_ssthresh }
    }

    /// Sets the slow-start threshold, packets. A congestion-control callback owns it.
    pub(crate) fn set_ssthresh(&self, ssthresh: u32) {
        // SAFETY: valid `tcp_sock`, callbacks serialised per the type invariants.
        unsafe { (*self.tp()).snd_ssthresh = ssthresh };
    }

    /// The next sequence number to send (`snd_nxt`).
    pub(crate) fn snd_nxt(&self) -> u32 {
        // SAFETY: valid `tcp_sock`; written under the same serialisation.
        unsafe { (*self.tp()).snd_nxt }
    }

    /// In the connection's initial slow start: `ssthresh` still has its initial,
    /// "infinite" value (`TCP_INFINITE_SSTHRESH`), no loss has set it.
    pub(crate) fn in_initial_slow_start(&self) -> bool {
        self.ssthresh() == bindings::TCP_INFINITE_SSTHRESH
    }

    /// Smoothed RTT in microseconds (`srtt_us` holds 8 times that); 0 before a sample.
    pub(crate) fn srtt_us(&self) -> u32 {
        // SAFETY: valid `tcp_sock` per the type invariants.
        let srtt8 = unsafe { (*self.tp()).srtt_us };
        if srtt8 == 0 {
            0
        } else {
            (srtt8 >> 3).max(1)
        }
    }

    /// Whether the congestion state (`icsk_ca_state`) is `TCP_CA_Open` or
    /// `TCP_CA_Disorder`: no loss recovery, no window reduction under way.
    pub(crate) fn ca_open(&self) -> bool {
        // The state is bits 0-4 of the socket's first bitfield word. The word is copied
        // out (the generated accessor would borrow the whole `inet_connection_sock`,
        // `icsk_ca_priv` included, which a callback holds mutably) and the bits taken
        // from the copy.
        // SAFETY: valid `inet_connection_sock` (the start of a `tcp_sock`); the word is
        // written under the same serialisation as the callbacks.
        let word = unsafe { read_volatile(addr_of!((*self.tp()).inet_conn._bitfield_1)) };
        word.get(0, 5) <= u64::from(bindings::tcp_ca_state_TCP_CA_Disorder)
    }

    /// `tcp_in_slow_start()`.
    pub(crate) fn in_slow_start(&self) -> bool {
        self.cwnd() < self.ssthresh()
    }

    /// `tcp_is_cwnd_limited()`.
    pub(crate) fn is_cwnd_limited(&self) -> bool {
        // SAFETY: valid socket per the type invariants.
        unsafe { bindings::tcp_is_cwnd_limited(self.as_ptr()) }
    }

    /// `tcp_slow_start()`: grows the window by `acked`, up to ssthresh; returns the acked
    /// packets left over for congestion avoidance.
    pub(crate) fn slow_start(&self, acked: u32) -> u32 {
        // SAFETY: valid `tcp_sock`, callbacks serialised per the type invariants.
        unsafe { bindings::tcp_slow_start(self.tp(), acked) }
    }

    /// `tcp_cong_avoid_ai()`: one more packet of window every `w` acked packets.
    pub(crate) fn cong_avoid_ai(&self, w: u32, acked: u32) {
        // SAFETY: valid `tcp_sock`, callbacks serialised per the type invariants.
        unsafe { bindings::tcp_cong_avoid_ai(self.tp(), w.max(1), acked) }
    }

    /// `tcp_reno_ssthresh()`: half the window, at least 2.
    pub(crate) fn reno_ssthresh(&self) -> u32 {
        // SAFETY: valid socket per the type invariants.
        unsafe { bindings::tcp_reno_ssthresh(self.as_ptr()) }
    }

    /// `tcp_reno_undo_cwnd()`.
    pub(crate) fn reno_undo_cwnd(&self) -> u32 {
        // SAFETY: valid socket per the type invariants.
        unsafe { bindings::tcp_reno_undo_cwnd(self.as_ptr()) }
    }

    /// The socket can send data: established, or the peer closed its side only.
    pub(crate) fn can_send(&self) -> bool {
        // SAFETY: valid socket; `skc_state` is a byte written with WRITE_ONCE by the
        // stack and read here with a volatile (READ_ONCE-like) load.
        let state =
            unsafe { read_volatile(addr_of!((*self.as_ptr()).__sk_common.skc_state)) } as u32;
        state == bindings::TCP_ESTABLISHED || state == bindings::TCP_CLOSE_WAIT
    }

    /// The network namespace of the socket. Its `struct net` is valid (every socket holds
    /// a reference, a passive one at least), but its pernet data may be gone if the
    /// socket outlived the namespace's exit: see [`Net::with_data`].
    pub(crate) fn net(&self) -> &Net {
        // SAFETY: valid socket, which holds a (counted or passive) reference on its
        // namespace, so the `struct net` outlives `&self`.
        unsafe { Net::from_raw(bindings::sock_net(self.as_ptr())) }
    }

    /// The MPTCP side of the socket if it is an MPTCP subflow attached to a connection.
    pub(crate) fn mptcp_subflow(&self) -> Option<Subflow> {
        let tp = self.tp();
        // SAFETY: valid `tcp_sock`; `is_mptcp` is set before the socket is visible.
        if !unsafe { (*tp).is_mptcp } {
            return None;
        }
        // The subflow context, and the reference on `conn` it holds, go away only under
        // this socket's lock: in `mptcp_subflow_drop_ctx()` (from `__mptcp_close_ssk()`,
        // which holds it, or on a child socket before anyone else sees it, where it also
        // clears `is_mptcp`) and in the ULP's release at destruction, after the congestion
        // control's. A congestion-control callback runs with that lock (or owning the
        // socket in softirq), so the context and `conn` stay for the whole call.
        // SAFETY: as above; for an MPTCP subflow, `icsk_ulp_data` is its
        // `mptcp_subflow_context` (`mptcp_subflow_ctx()`) or NULL once dropped.
        let ctx =
            unsafe { (*tp).inet_conn.icsk_ulp_data }.cast::<bindings::mptcp_subflow_context>();
        if ctx.is_null() {
            return None;
        }
        // SAFETY: `ctx` is valid (above); `conn` is written once when the subflow joins.
        let conn = unsafe { read_volatile(addr_of!((*ctx).conn)) };
        if conn.is_null() {
            return None;
        }
        // CAST: `conn` is the `struct sock` at the start of a `struct mptcp_sock`.
        let msk = conn.cast::<bindings::mptcp_sock>();
        // SAFETY: the context holds a reference on `conn` for this call (above); `flags` is
        // changed with atomic bit operations and read here as one word, like test_bit().
        let flags = unsafe { read_volatile(addr_of!((*msk).flags)) };
        // SAFETY: as above; the token is set before subflows exist.
        let token = unsafe { read_volatile(addr_of!((*msk).token)) };
        // `stale` is one bit of a 32-bit bitfield word that the MPTCP socket's side
        // writes under its data lock: the word is read once, with one load (a racy read
        // of a flag, as the C readers of `subflow->stale` do), into an otherwise empty
        // copy of its struct whose generated accessor then extracts the bit.
        // SAFETY: `ctx` is valid (above); `reset`'s struct_group is a view of the same
        // bytes, so the flags view is always initialised memory.
        let word = unsafe {
            read_volatile(addr_of!(
                (*ctx).__bindgen_anon_1.__bindgen_anon_1._bitfield_1
            ))
        };
        let view = bindings::mptcp_subflow_context__bindgen_ty_1__bindgen_ty_1 {
            _bitfield_1: word,
            ..Default::default()
        };
        Some(Subflow {
            conn: ConnKey(conn as usize, token),
            fallback: flags & (1 << bindings::MPTCP_FALLBACK_DONE) != 0,
            stale: view.stale() != 0,
            backup: view.backup() != 0 || view.request_bkup() != 0,
        })
    }
}
