// SPDX-License-Identifier: GPL-2.0

//! One proxied connection: the client's MPTCP connection joined to a plain TCP
//! connection to the target.
//!
//! Each direction has a fixed buffer ([`BUF`](super::dir::BUF) bytes; `dir.rs`): it is filled from one socket only
//! once it is empty, so a full send buffer on one side stops reading the other
//! (backpressure), and memory per connection is bounded: two buffers plus the sockets'
//! own buffers, which the kernel's usual limits bound. A buffer exists only while its
//! direction has data in flight: it is freed when it is empty and a wake-up finds nothing
//! to read from its source, so an idle connection holds no buffer. When a buffer cannot
//! be allocated, the data waits in the source socket and the runtime's tick retries.
//!
//! # Ends
//!
//! No byte a side sent before it ended is lost, whatever the end:
//!
//! - End of stream (FIN, or DATA_FIN) on one side becomes `shutdown(SHUT_WR)` on the
//!   other once everything before it was written there. Both directions shut: the
//!   connection closes gracefully.
//! - A side that fails (reset, fastclose, error) is read to the end first (a socket
//!   returns its queued data before its error), and that data is written to the other
//!   side; the other direction can deliver nothing more and is dropped. Once the other
//!   side has acknowledged everything written to it (`SIOCOUTQ` is 0), it is reset too:
//!   the reset passes through the proxy after the data, as it would on a direct
//!   connection. The runtime polls a draining connection every [`DRAIN_POLL_MS`]; one
//!   whose peer acknowledges nothing for [`DRAIN_IDLE_MS`] is reset anyway.
//!
//! The connection's work item runs [`Conn::step`]; the sockets' wake-ups queue it.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

use super::dir::{pump, Dir, End};
use super::runtime::Runtime;
use super::stats::Stat;
use super::{queue, stat, upstream_stat};
use crate::inet::addr::{Addr, Endpoint};
use crate::sys::proc::SeqWriter;
use crate::sys::socket::{Proto, SockError, Socket, Status, Wake};
use crate::sys::time::now_ms;

/// Most work done by one run of a connection's work item before it yields.
const ROUNDS: usize = 16;
/// How often a draining connection (or one waiting for a buffer) is looked at, ms.
pub(crate) const DRAIN_POLL_MS: u32 = 20;
/// A draining connection whose peer acknowledges nothing for this long is reset, ms.
pub(crate) const DRAIN_IDLE_MS: u64 = 10_000;

/// The phase of a connection, also read without its lock by the runtime's scan.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Phase {
    /// The upstream connect is in progress (or not started yet).
    Connecting = 0,
    /// Moving data.
    Relaying = 1,
    /// A side failed; delivering what it sent before resetting the other side (or a
    /// direction waits for a buffer): polled by the runtime.
    Draining = 2,
    /// Closed.
    Done = 3,
}

struct Inner {
    client: Option<Socket<Conn>>,
    upstream: Option<Socket<Conn>>,
    c2s: Dir,
    s2c: Dir,
    client_failed: bool,
    upstream_failed: bool,
    /// The destination's unacknowledged bytes at the last drain check, to see progress.
    unacked: usize,
}

/// A proxied connection.
#[pin_data]
pub(crate) struct Conn {
    rt: Arc<Runtime>,
    /// The client's address (its per-client limit) and port, and the target's, as the
    /// connection was accepted (for `/proc/net/mptcp_proxy`).
    pub(super) client: Endpoint,
    target: Endpoint,
    /// When data last moved, or the phase last changed, `now_ms`.
    pub(super) last: AtomicU64,
    /// A [`Phase`].
    phase: AtomicU8,
    #[pin]
    work: Work<Conn>,
    #[pin]
    inner: Mutex<Inner>,
}

impl_has_work! {
    impl HasWork<Conn> for Conn { self.work }
}

impl Wake for Conn {
    fn wake(this: ArcBorrow<'_, Self>) {
        if let Some(q) = queue() {
            let _ = q.enqueue(Arc::from(this));
        }
    }
}

impl WorkItem for Conn {
    type Pointer = Arc<Conn>;

    fn run(this: Arc<Conn>) {
        if !this.step() {
            // More to do: run again after others had their turn.
            if let Some(q) = queue() {
                let _ = q.enqueue(this);
            }
        }
    }
}

impl Conn {
    /// A connection for an accepted client socket, with an unconnected upstream socket.
    /// Nothing runs until [`Conn::start`]. On failure the client socket is handed back
    /// (to be reset).
    pub(super) fn new(
        rt: Arc<Runtime>,
        client: Socket<Conn>,
        client_ep: Endpoint,
        target: Endpoint,
        v6: bool,
    ) -> core::result::Result<Arc<Conn>, (Socket<Conn>, Error)> {
        let net = rt.net.get();
        let upstream = match Socket::<Conn>::new(net, v6, Proto::Tcp) {
            Ok(s) => s,
            Err(e) => return Err((client, e)),
        };
        upstream.set_syn_retries(rt.syn_retries.load(Ordering::Relaxed) as i32);
        let inner = Inner {
            client: None,
            upstream: Some(upstream),
            c2s: Dir::new(),
            s2c: Dir::new(),
            client_failed: false,
            upstream_failed: false,
            unacked: 0,
        };
        let conn = Arc::pin_init(
            pin_init!(Conn {
                rt,
                client: client_ep,
                target,
                last: AtomicU64::new(now_ms()),
                phase: AtomicU8::new(Phase::Connecting as u8),
                work <- new_work!("mptcp_proxy_conn"),
                inner <- new_mutex!(inner, "mptcp_proxy_conn"),
            }),
            GFP_KERNEL,
        );
        match conn {
            Ok(c) => {
                c.inner.lock().client = Some(client);
                Ok(c)
            }
            Err(e) => Err((client, e)),
        }
    }

    /// Hooks both sockets and starts the upstream connect. On failure the connection is
    /// closed (both sides reset) and the error returned; the caller forgets it.
    pub(super) fn start(self: &Arc<Self>, addr: Addr, port: u16, v6: bool) -> Result {
        let mut inner = self.inner.lock();
        let Inner {
            client, upstream, ..
        } = &mut *inner;
        let (Some(c), Some(u)) = (client.as_mut(), upstream.as_mut()) else {
            return Err(EINVAL);
        };
        let r = c
            .hook(self)
            .and_then(|()| u.hook(self))
            .and_then(|()| u.connect(addr, port, v6));
        if r.is_err() {
            // Dropping the sockets takes their wait entries, and the references on the
            // connection they hold, away.
            Self::close(self, &mut inner, true);
        }
        r
    }

    /// The phase.
    pub(super) fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Connecting,
            1 => Phase::Relaying,
            2 => Phase::Draining,
            _ => Phase::Done,
        }
    }

    fn set_phase(self: &Arc<Self>, p: Phase) {
        if self.phase.swap(p as u8, Ordering::AcqRel) != p as u8 {
            self.last.store(now_ms(), Ordering::Relaxed);
            if p == Phase::Draining {
                self.rt.drain(self);
            }
        }
    }

    /// The header of `/proc/net/mptcp_proxy` (see [`Conn::show`]).
    pub(crate) fn show_header(w: &mut SeqWriter) {
        let _ = writeln!(
            w,
            "client target phase idle_ms \
             cli_state cli_rmem cli_unacked cli_unsent up_state up_rmem up_unacked up_unsent \
             c2s_buf c2s_flags s2c_buf s2c_flags"
        );
    }

    /// One line of `/proc/net/mptcp_proxy`, space-separated fields in the header's
    /// order: the client's address and port, the target's (as the client named it), the
    /// phase, ms since data last moved (or the phase changed), then for each socket (the
    /// client's MPTCP one, the upstream TCP one) its state as `ss` names it (`:errno`
    /// appended for a pending error), receive memory, bytes not acknowledged and bytes
    /// not sent yet (all four `-` once the relay has closed it), then for each direction
    /// the bytes in the relay's buffer and how it stands: its source `open`, `fin` or
    /// `failed`, and any of `dry` (nothing to read in the last step), `starved` (waits
    /// for memory: polled), `shut` (FIN sent on) and `dead` (the destination failed).
    pub(super) fn show(&self, w: &mut SeqWriter, now: u64) {
        let inner = self.inner.lock();
        let phase = match self.phase() {
            Phase::Connecting => "connecting",
            Phase::Relaying => "relaying",
            Phase::Draining => "draining",
            Phase::Done => "done",
        };
        let idle = now.saturating_sub(self.last.load(Ordering::Relaxed));
        let _ = write!(w, "{} {} {} {}", self.client, self.target, phase, idle);
        for s in [&inner.client, &inner.upstream] {
            let Some(s) = s.as_ref() else {
                let _ = write!(w, " - - - -");
                continue;
            };
            let (state, err) = s.state();
            let _ = match err {
                0 => write!(w, " {}", state),
                e => write!(w, " {}:{}", state, e),
            };
            let _ = write!(w, " {}", s.rmem());
            for n in [s.unacked(), s.unsent()] {
                let _ = match n {
                    Some(n) => write!(w, " {}", n),
                    None => write!(w, " -"),
                };
            }
        }
        for d in [&inner.c2s, &inner.s2c] {
            let src = match d.src {
                End::Open => "open",
                End::Fin => "fin",
                End::Failed => "failed",
            };
            let _ = write!(w, " {} {}", d.end - d.start, src);
            for (set, name) in [
                (d.dry, "dry"),
                (d.starved, "starved"),
                (d.shut, "shut"),
                (d.dead, "dead"),
            ] {
                if set {
                    let _ = write!(w, ",{}", name);
                }
            }
        }
        let _ = writeln!(w);
    }

    /// Resets both sides and closes; `false` if it was closed already.
    pub(super) fn abort(&self) -> bool {
        let mut inner = self.inner.lock();
        let open = self.phase() != Phase::Done;
        Self::close(self, &mut inner, true);
        open
    }

    fn close(&self, inner: &mut Inner, reset: bool) {
        for s in [inner.client.take(), inner.upstream.take()]
            .into_iter()
            .flatten()
        {
            if reset {
                s.set_abort_on_close();
            }
            drop(s);
        }
        for d in [&mut inner.c2s, &mut inner.s2c] {
            d.buf = None;
            d.start = 0;
            d.end = 0;
        }
        self.phase.store(Phase::Done as u8, Ordering::Release);
    }

    /// Ends the connection and counts how.
    fn finish(self: &Arc<Self>, inner: &mut Inner, s: Stat, reset: bool) -> bool {
        stat(self.rt.net.get(), s);
        Self::close(self, inner, reset);
        self.rt.forget(self);
        true
    }

    /// Runs the connection's state machine; `true` when there is nothing more to do for
    /// now (waiting for a callback or the tick, or done).
    fn step(self: &Arc<Self>) -> bool {
        let net = self.rt.net.get();
        let mut inner = self.inner.lock();
        // A stopping runtime resets every connection; relaying meanwhile would only
        // compete with that for the CPU (an rmmod under load).
        if self.phase() == Phase::Done || self.rt.closing() {
            return true;
        }
        let (Some(client_err), Some(up_status)) = (
            inner.client.as_ref().map(|c| c.status()),
            inner.upstream.as_ref().map(|u| u.status()),
        ) else {
            return true;
        };
        // Errors no read or write has seen yet (e.g. a reset after a side's direction
        // was shut), and a connection closed without our FIN (an MPTCP fastclose may
        // show as that): the side failed.
        if matches!(client_err, Status::Failed(_))
            || (client_err == Status::Closed && !inner.s2c.shut)
        {
            inner.client_failed = true;
        }
        if self.phase() == Phase::Connecting {
            match up_status {
                // A reset (not a refusal: that is ECONNREFUSED) means the target accepted
                // and may have sent something: relay what it sent, as below.
                Status::Failed(SockError::Reset) => inner.upstream_failed = true,
                Status::Failed(e) => return self.finish(&mut inner, upstream_stat(e), true),
                Status::Closed => {
                    return self.finish(&mut inner, upstream_stat(SockError::Other), true)
                }
                // A client that failed meanwhile is relayed once the target answers: what
                // it sent before its reset is delivered, then the target is reset.
                Status::Connecting => return true,
                Status::Established => {}
            }
            self.set_phase(Phase::Relaying);
        }
        if matches!(up_status, Status::Failed(_))
            || (up_status == Status::Closed && !inner.c2s.shut)
        {
            inner.upstream_failed = true;
        }
        let (mut up_bytes, mut down_bytes) = (0u64, 0u64);
        let mut moved = false;
        let mut done_rounds = true;
        {
            let Inner {
                client,
                upstream,
                c2s,
                s2c,
                client_failed,
                upstream_failed,
                ..
            } = &mut *inner;
            let (Some(c), Some(u)) = (client.as_ref(), upstream.as_ref()) else {
                return true;
            };
            c2s.dry = false;
            s2c.dry = false;
            for round in 0..ROUNDS {
                let a = pump(c, u, c2s, client_failed, upstream_failed, &mut up_bytes);
                let b = pump(u, c, s2c, upstream_failed, client_failed, &mut down_bytes);
                if !a && !b {
                    break;
                }
                moved = true;
                if round == ROUNDS - 1 {
                    done_rounds = false;
                }
            }
        }
        if moved {
            self.last.store(now_ms(), Ordering::Relaxed);
        }
        if let Some(d) = net.data::<crate::NetData>() {
            d.proxy.add_bytes(up_bytes, down_bytes);
        }
        let (cf, uf) = (inner.client_failed, inner.upstream_failed);
        if !cf && !uf {
            if inner.c2s.shut && inner.s2c.shut {
                return self.finish(&mut inner, Stat::ConnClosed, false);
            }
            let starved = inner.c2s.starved || inner.s2c.starved;
            self.set_phase(if starved {
                Phase::Draining
            } else {
                Phase::Relaying
            });
            return done_rounds;
        }
        if cf && uf {
            return self.finish(&mut inner, Stat::ConnReset, true);
        }
        // One side failed: what it sent must reach the other side, and be acknowledged
        // there, before that side is reset too.
        let (dir, peer) = if cf {
            (&inner.c2s, inner.upstream.as_ref())
        } else {
            (&inner.s2c, inner.client.as_ref())
        };
        if !dir.drained() {
            self.set_phase(Phase::Draining);
            return done_rounds;
        }
        match peer.and_then(|p| p.unacked()) {
            Some(0) | None => self.finish(&mut inner, Stat::ConnReset, true),
            Some(n) => {
                if n < inner.unacked || self.phase() != Phase::Draining {
                    self.last.store(now_ms(), Ordering::Relaxed);
                }
                inner.unacked = n;
                self.set_phase(Phase::Draining);
                true
            }
        }
    }
}
