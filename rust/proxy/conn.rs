// SPDX-License-Identifier: GPL-2.0

//! One proxied connection: the client's MPTCP connection joined to a plain TCP
//! connection to the target.
//!
//! Each direction has a fixed buffer ([`BUF`] bytes): it is filled from one socket only
//! once it is empty, so a full send buffer on one side stops reading the other
//! (backpressure), and memory per connection is bounded: two buffers plus the sockets'
//! own buffers, which the kernel's usual limits bound. A buffer exists only while its
//! direction has data in flight: it is freed when it is empty and a wake-up finds nothing
//! to read from its source, so an idle connection holds no buffer. End of stream on one
//! side becomes `shutdown(SHUT_WR)` on the other once the buffer is drained; an error or
//! a reset on either side aborts both (the other side gets a reset).
//!
//! The connection's work item runs [`Conn::step`]; the sockets' wake-ups queue it.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

use super::option::Target;
use super::runtime::{queue, stat, upstream_stat, Runtime};
use super::stats::Stat;
use crate::sys::socket::{Proto, Socket, Wake};
use crate::sys::time::now_ms;

/// Bytes buffered per direction of a connection.
pub(crate) const BUF: usize = 64 * 1024;
/// Most work done by one run of a connection's work item before it yields.
const ROUNDS: usize = 16;

/// One direction of a connection.
struct Dir {
    /// Allocated while data moves (see the module documentation).
    buf: Option<KVec<u8>>,
    start: usize,
    end: usize,
    /// The source reached end of stream.
    eof: bool,
    /// The source had nothing to read in this step.
    dry: bool,
    /// We sent FIN on the destination.
    shut: bool,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            buf: None,
            dry: false,
            start: 0,
            end: 0,
            eof: false,
            shut: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Relaying,
    Done,
}

struct Inner {
    client: Option<Socket<Conn>>,
    upstream: Option<Socket<Conn>>,
    state: State,
    c2s: Dir,
    s2c: Dir,
}

/// A proxied connection.
#[pin_data]
pub(crate) struct Conn {
    rt: Arc<Runtime>,
    /// When data last moved (or relaying began), `now_ms`; `u64::MAX` while the
    /// upstream connect is in progress, which its own timeout bounds.
    pub(super) last: AtomicU64,
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

/// Result of moving data one way.
enum Move {
    Progress,
    Idle,
    Failed,
}

impl Conn {
    /// Opens the upstream connection for an accepted client connection. On failure the
    /// client socket is handed back (to be reset).
    pub(super) fn new(
        rt: Arc<Runtime>,
        client: Socket<Conn>,
        target: &Target,
    ) -> core::result::Result<Arc<Conn>, (Option<Socket<Conn>>, Error)> {
        let net = rt.net.get();
        let (addr, port) = (target.addr(), target.port());
        let v6 = matches!(target, Target::V6 { .. });
        let upstream = match Socket::<Conn>::new(net, v6, Proto::Tcp) {
            Ok(s) => s,
            Err(e) => return Err((Some(client), e)),
        };
        upstream.set_syn_retries(rt.syn_retries.load(Ordering::Relaxed) as i32);
        let conn = match Arc::pin_init(
            pin_init!(Conn {
                rt,
                last: AtomicU64::new(u64::MAX),
                work <- new_work!("mptcp_proxy_conn"),
                inner <- new_mutex!(Inner {
                    client: None,
                    upstream: None,
                    state: State::Connecting,
                    c2s: Dir::new(),
                    s2c: Dir::new(),
                }, "mptcp_proxy_conn"),
            }),
            GFP_KERNEL,
        ) {
            Ok(c) => c,
            Err(e) => return Err((Some(client), e)),
        };
        {
            let mut inner = conn.inner.lock();
            let mut client = client;
            let mut upstream = upstream;
            let r = client
                .hook(&conn)
                .and_then(|()| upstream.hook(&conn))
                .and_then(|()| upstream.connect(addr, port, v6));
            inner.client = Some(client);
            inner.upstream = Some(upstream);
            if let Err(e) = r {
                // Drop the upstream socket now: its wait entry holds a reference on the
                // connection, which would otherwise never be freed.
                let client = inner.client.take();
                if let Some(u) = inner.upstream.take() {
                    u.set_abort_on_close();
                }
                inner.state = State::Done;
                return Err((client, e));
            }
        }
        Ok(conn)
    }

    /// Resets both sides and closes; `false` if it was closed already.
    pub(super) fn abort(&self) -> bool {
        let mut inner = self.inner.lock();
        let open = inner.state != State::Done;
        Self::close(&mut inner, true);
        open
    }

    fn close(inner: &mut Inner, reset: bool) {
        for s in [inner.client.take(), inner.upstream.take()]
            .into_iter()
            .flatten()
        {
            if reset {
                s.set_abort_on_close();
            }
            drop(s);
        }
        inner.state = State::Done;
    }

    /// Moves data one way: `from` to `to` through `d`.
    /// A buffer is taken only once the source has something to read, and given back as
    /// soon as it is drained and the source has nothing more: quiet directions and idle
    /// connections hold none. A source found empty is not asked again in this step
    /// (`dry`); its next wake-up queues the work again.
    fn pump(from: &Socket<Conn>, to: &Socket<Conn>, d: &mut Dir, bytes: &mut u64) -> Move {
        let mut progress = false;
        if d.start == d.end && !d.eof && !d.dry {
            let readable = if d.buf.is_some() {
                Ok(true)
            } else {
                from.readable()
            };
            match readable {
                Ok(false) => {
                    d.eof = true;
                    d.buf = None;
                    progress = true;
                }
                Ok(true) => {
                    let buf = match d.buf.take() {
                        Some(b) => b,
                        // Built on the heap directly: a BUF-sized array would not fit on
                        // the stack.
                        None => match KVec::from_elem(0u8, BUF, GFP_KERNEL) {
                            Ok(b) => b,
                            Err(_) => return Move::Failed,
                        },
                    };
                    let buf = d.buf.insert(buf);
                    match from.recv(&mut buf[..]) {
                        Ok(0) => {
                            d.eof = true;
                            d.buf = None;
                            progress = true;
                        }
                        Ok(n) => {
                            d.start = 0;
                            d.end = n;
                            progress = true;
                        }
                        Err(e) if e == EAGAIN => {
                            d.dry = true;
                            d.buf = None;
                        }
                        Err(_) => return Move::Failed,
                    }
                }
                Err(e) if e == EAGAIN => {
                    d.dry = true;
                    d.buf = None;
                }
                Err(_) => return Move::Failed,
            }
        }
        if d.start < d.end {
            let Some(buf) = d.buf.as_ref() else {
                return Move::Failed;
            };
            match to.send(&buf[d.start..d.end]) {
                Ok(n) => {
                    d.start += n;
                    *bytes += n as u64;
                    progress = progress || n > 0;
                }
                Err(e) if e == EAGAIN => {}
                Err(_) => return Move::Failed,
            }
        }
        if d.eof && d.start == d.end && !d.shut {
            to.shutdown_write();
            d.shut = true;
            progress = true;
        }
        if progress {
            Move::Progress
        } else {
            Move::Idle
        }
    }

    /// Runs the connection's state machine; `true` when there is nothing more to do for
    /// now (waiting for a callback, or done).
    fn step(self: &Arc<Self>) -> bool {
        let net = self.rt.net.get();
        let mut inner = self.inner.lock();
        if inner.state == State::Done {
            return true;
        }
        if inner.state == State::Connecting {
            let Some(up) = inner.upstream.as_ref() else {
                return true;
            };
            let (err, established) = up.status();
            if let Some(err) = err {
                stat(net, upstream_stat(err));
                Self::close(&mut inner, true);
                drop(inner);
                self.rt.forget(self);
                return true;
            }
            if !established {
                return true;
            }
            inner.state = State::Relaying;
            self.last.store(now_ms(), Ordering::Relaxed);
        }
        let (mut up_bytes, mut down_bytes) = (0u64, 0u64);
        let mut failed = false;
        let mut moved = false;
        let mut done_rounds = true;
        {
            let Inner {
                client,
                upstream,
                c2s,
                s2c,
                ..
            } = &mut *inner;
            let (Some(c), Some(u)) = (client.as_ref(), upstream.as_ref()) else {
                return true;
            };
            c2s.dry = false;
            s2c.dry = false;
            for round in 0..ROUNDS {
                let a = Self::pump(c, u, c2s, &mut up_bytes);
                let b = Self::pump(u, c, s2c, &mut down_bytes);
                match (a, b) {
                    (Move::Failed, _) | (_, Move::Failed) => {
                        failed = true;
                        break;
                    }
                    (Move::Idle, Move::Idle) => break,
                    _ => moved = true,
                }
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
        let finished = inner.c2s.shut && inner.s2c.shut;
        if failed || finished {
            if failed {
                stat(net, Stat::ConnReset);
            } else {
                stat(net, Stat::ConnClosed);
            }
            Self::close(&mut inner, failed);
            drop(inner);
            self.rt.forget(self);
            return true;
        }
        done_rounds
    }
}
