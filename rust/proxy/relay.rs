// SPDX-License-Identifier: GPL-2.0

//! The proxy's listener and relay, per network namespace.
//!
//! A [`Runtime`] exists while the namespace's proxy port is set. It owns an in-kernel
//! MPTCP listening socket on that port (IPv6, dual-stack), the table of targets the gate
//! let through ([`Pending`]), and the proxied connections. Everything runs in work items
//! on the module's workqueue: socket callbacks (softirq) only queue work, never a thread
//! per connection.
//!
//! A [`Conn`] joins the client's MPTCP connection and a plain TCP connection to the
//! target. Each direction has a fixed buffer ([`BUF`] bytes): it is filled from one
//! socket only once it is empty, so a full send buffer on one side stops reading the
//! other (backpressure), and memory per connection is bounded: two buffers plus the
//! sockets' own buffers, which the kernel's usual limits bound. A buffer exists only
//! while its direction has data in flight: it is freed when it is empty and a wake-up
//! finds nothing to read from its source, so an idle connection holds no buffer. End of stream on one
//! side becomes `shutdown(SHUT_WR)` on the other once the buffer is drained; an error or
//! a reset on either side aborts both (the other side gets a reset).
//!
//! A connection with no progress in either direction for the namespace's idle timeout
//! is reset on both sides. A timer per runtime queues a scan of the connections' last
//! activity every [`scan_period_ms`] (an eighth of the timeout, 1 s to 60 s), so a
//! connection goes between one timeout and one timeout plus a period after its last
//! byte.
//!
//! Locks: `Runtime::conns` (a mutex, process context) then `Conn::inner` (a mutex, held
//! by the connection's work item); `Runtime::pending` (a BH spinlock, also taken by the
//! gate in softirq) is never held with another lock.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::rbtree::RBTree;
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

use super::gate::Stat;
use super::option::Target;
use super::pending::{Entry, Key, Pending};
use super::policy::Addr;
use crate::sys::net::{Net, NetHandle};
use crate::sys::socket::{Proto, SockError, Socket, Wake};
use crate::sys::sync::{new_spinlock_bh, SpinLockBh};
use crate::sys::time::now_ms;
use crate::sys::timer::{Fire, Timer};

/// Bytes buffered per direction of a connection.
pub(crate) const BUF: usize = 64 * 1024;
/// Pending targets remembered per namespace.
pub(crate) const PENDING: usize = 1024;
/// How long a pending target waits for its connection to be accepted, ms.
pub(crate) const PENDING_MS: u64 = 30_000;
/// Default upstream SYN retransmissions (`net.mptcp_proxy.connect_syn_retries`): one,
/// so a connect to a silent target fails after about 3 s (1 s + 2 s).
pub(crate) const UPSTREAM_SYN_RETRIES: u32 = 1;
/// Default idle timeout (`net.mptcp_proxy.idle_timeout`), seconds.
pub(crate) const IDLE_TIMEOUT_S: u32 = 600;
/// Most work done by one run of a connection's work item before it yields.
const ROUNDS: usize = 16;

fn stat(net: &Net, s: Stat) {
    if let Some(d) = net.data::<crate::NetData>() {
        d.proxy.count(s);
    }
}

/// The counter of an upstream connection failure.
fn upstream_stat(e: SockError) -> Stat {
    match e {
        SockError::Refused | SockError::Reset => Stat::UpstreamRefused,
        SockError::TimedOut => Stat::UpstreamTimeout,
        SockError::Unreachable => Stat::UpstreamUnreachable,
        SockError::Other => Stat::UpstreamFailed,
    }
}

fn queue() -> Option<&'static kernel::workqueue::Queue> {
    crate::SHARED.get().map(|s| s.wq.queue())
}

/// How often connections are checked for the idle timeout `idle_ms` (not 0).
pub(crate) fn scan_period_ms(idle_ms: u64) -> u32 {
    (idle_ms / 8).clamp(1000, 60_000) as u32
}

/// The limits a runtime applies, from the namespace's configuration.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_conns: usize,
    pub(crate) syn_retries: u32,
    /// Idle timeout in ms; 0: none.
    pub(crate) idle_ms: u64,
}

/// The proxy of one namespace while its port is set.
#[pin_data]
pub(crate) struct Runtime {
    net: NetHandle,
    max_conns: AtomicUsize,
    syn_retries: AtomicU32,
    idle_ms: AtomicU64,
    closing: AtomicBool,
    #[pin]
    accept_work: Work<Runtime>,
    /// The idle scan, queued by `tick`.
    #[pin]
    scan_work: Work<Runtime, 1>,
    #[pin]
    tick: Timer<Runtime>,
    #[pin]
    listener: Mutex<Option<Socket<Runtime>>>,
    #[pin]
    pending: SpinLockBh<Pending<KVec<Option<Entry>>>>,
    /// The connections, by address.
    #[pin]
    conns: Mutex<Conns>,
}

/// The connections of a runtime.
struct Conns {
    tree: RBTree<usize, Arc<Conn>>,
    count: usize,
}

impl_has_work! {
    impl HasWork<Runtime> for Runtime { self.accept_work }
    impl HasWork<Runtime, 1> for Runtime { self.scan_work }
}

impl Wake for Runtime {
    fn wake(this: ArcBorrow<'_, Self>) {
        if let Some(q) = queue() {
            let _ = q.enqueue::<Arc<Runtime>, 0>(Arc::from(this));
        }
    }
}

impl WorkItem for Runtime {
    type Pointer = Arc<Runtime>;

    fn run(this: Arc<Runtime>) {
        this.accept_all();
    }
}

impl WorkItem<1> for Runtime {
    type Pointer = Arc<Runtime>;

    fn run(this: Arc<Runtime>) {
        this.scan_idle();
    }
}

impl Fire for Runtime {
    fn fire(this: Arc<Self>) {
        if let Some(q) = queue() {
            let _ = q.enqueue::<Arc<Runtime>, 1>(this);
        }
    }
}

impl Runtime {
    /// Starts the proxy on `port` in `net`: the listener and an empty table.
    pub(crate) fn start(net: &Net, port: u16, limits: Limits) -> Result<Arc<Runtime>> {
        // On the heap: far too large for a kernel stack.
        let slots = KVec::from_elem(None, PENDING, GFP_KERNEL)?;
        let rt = Arc::pin_init(
            pin_init!(Runtime {
                net: NetHandle::new(net),
                max_conns: AtomicUsize::new(limits.max_conns),
                syn_retries: AtomicU32::new(limits.syn_retries),
                idle_ms: AtomicU64::new(limits.idle_ms),
                closing: AtomicBool::new(false),
                accept_work <- new_work!("mptcp_proxy_accept"),
                scan_work <- new_work!("mptcp_proxy_scan"),
                tick <- Timer::new(),
                listener <- new_mutex!(None, "mptcp_proxy_listener"),
                pending <- new_spinlock_bh!(Pending::new(slots, PENDING_MS), "mptcp_proxy_pending"),
                conns <- new_mutex!(Conns { tree: RBTree::new(), count: 0 }, "mptcp_proxy_conns"),
            }),
            GFP_KERNEL,
        )?;
        let listening = Socket::<Runtime>::new(net, true, Proto::Mptcp).and_then(|mut sock| {
            sock.listen(port, 1024)?;
            sock.hook(&rt)?;
            Ok(sock)
        });
        match listening {
            Ok(sock) => *rt.listener.lock() = Some(sock),
            Err(e) => {
                rt.tick.shutdown();
                return Err(e);
            }
        }
        rt.arm_tick();
        Ok(rt)
    }

    /// New limits from the configuration. The connection limit and SYN retries apply to
    /// connections accepted from now on, the idle timeout to every connection.
    pub(crate) fn set_limits(self: &Arc<Self>, limits: Limits) {
        self.max_conns.store(limits.max_conns, Ordering::Relaxed);
        self.syn_retries.store(limits.syn_retries, Ordering::Relaxed);
        self.idle_ms.store(limits.idle_ms, Ordering::Relaxed);
        self.arm_tick();
    }

    /// Arms the idle scan if there is an idle timeout (no-op if already armed).
    fn arm_tick(self: &Arc<Self>) {
        let idle = self.idle_ms.load(Ordering::Relaxed);
        if idle != 0 && !self.closing.load(Ordering::Acquire) {
            self.tick.arm(self, scan_period_ms(idle));
        }
    }

    /// Resets the connections idle for longer than the timeout, then re-arms.
    fn scan_idle(self: &Arc<Self>) {
        let idle = self.idle_ms.load(Ordering::Relaxed);
        if idle == 0 || self.closing.load(Ordering::Acquire) {
            return;
        }
        let now = now_ms();
        let mut expired = KVec::new();
        {
            let mut conns = self.conns.lock();
            for (&key, c) in conns.tree.iter() {
                if now.saturating_sub(c.last.load(Ordering::Relaxed)) >= idle {
                    // Out of memory: the rest are found on the next scan.
                    if expired.push((key, c.clone()), GFP_KERNEL).is_err() {
                        break;
                    }
                }
            }
            for (key, _) in expired.iter() {
                if conns.tree.remove(key).is_some() {
                    conns.count -= 1;
                }
            }
        }
        let net = self.net.get();
        for (_, c) in expired {
            if c.abort() {
                stat(net, Stat::ConnIdleTimeout);
            }
        }
        self.arm_tick();
    }

    /// The gate let a SYN through: remember its target.
    pub(crate) fn remember(&self, client: Addr, port: u16, target: Target, now_ms: u64) {
        let r = self.pending.lock().insert(Key { addr: client.unmapped(), port }, target, now_ms);
        if r == super::pending::Inserted::Evicted {
            stat(self.net.get(), Stat::PendingEvicted);
        }
    }

    fn accept_all(self: &Arc<Self>) {
        loop {
            if self.closing.load(Ordering::Acquire) {
                return;
            }
            let accepted = {
                let l = self.listener.lock();
                match l.as_ref().map(|l| l.accept::<Conn>()) {
                    Some(Ok(Some(s))) => s,
                    _ => return,
                }
            };
            self.start_conn(accepted);
        }
    }

    fn start_conn(self: &Arc<Self>, client: Socket<Conn>) {
        let net = self.net.get();
        let Some((addr, port)) = client.peer() else {
            client.set_abort_on_close();
            return;
        };
        let now = crate::sys::time::now_ms();
        let Some(target) = self.pending.lock().take(Key { addr, port }, now) else {
            stat(net, Stat::AcceptNoTarget);
            client.set_abort_on_close();
            return;
        };
        let conn = match Conn::new(self.clone(), client, &target) {
            Ok(c) => c,
            Err((client, e)) => {
                stat(net, upstream_stat(SockError::of(e)));
                if let Some(c) = client {
                    c.set_abort_on_close();
                }
                return;
            }
        };
        {
            let mut conns = self.conns.lock();
            if self.closing.load(Ordering::Acquire) || conns.count >= self.max_conns.load(Ordering::Relaxed) {
                drop(conns);
                if !self.closing.load(Ordering::Acquire) {
                    stat(net, Stat::RefusedTooMany);
                }
                conn.abort();
                return;
            }
            let key = &*conn as *const Conn as usize;
            if conns.tree.try_create_and_insert(key, conn.clone(), GFP_KERNEL).is_err() {
                drop(conns);
                conn.abort();
                return;
            }
            conns.count += 1;
        }
        stat(net, Stat::ConnAccepted);
        // Data may have arrived before the callbacks were ours.
        if let Some(q) = queue() {
            let _ = q.enqueue(conn);
        }
    }

    fn forget(&self, conn: &Conn) {
        let mut conns = self.conns.lock();
        if conns.tree.remove(&(conn as *const Conn as usize)).is_some() {
            conns.count -= 1;
        }
    }

    /// Targets waiting for their connection to be accepted.
    pub(crate) fn pending(&self) -> usize {
        self.pending.lock().len(crate::sys::time::now_ms())
    }

    /// Connections in progress or relaying.
    pub(crate) fn active(&self) -> usize {
        self.conns.lock().count
    }

    /// Stops everything: the listener, then every connection (reset). Sleeps; the
    /// caller flushes the workqueue afterwards.
    pub(crate) fn shutdown(&self) {
        self.closing.store(true, Ordering::Release);
        self.tick.shutdown();
        drop(self.listener.lock().take());
        let tree = {
            let mut conns = self.conns.lock();
            conns.count = 0;
            core::mem::replace(&mut conns.tree, RBTree::new())
        };
        for c in tree.values() {
            c.abort();
        }
    }
}

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
    fn new() -> Result<Dir> {
        Ok(Dir {
            buf: None,
            dry: false,
            start: 0,
            end: 0,
            eof: false,
            shut: false,
        })
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
    last: AtomicU64,
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
    fn new(rt: Arc<Runtime>, client: Socket<Conn>, target: &Target) -> core::result::Result<Arc<Conn>, (Option<Socket<Conn>>, Error)> {
        let net = rt.net.get();
        let (addr, port, v6) = match *target {
            Target::V4 { addr, port } => (Addr::V4(addr), port, false),
            Target::V6 { addr, port } => (Addr::V6(addr), port, true),
        };
        let upstream = match Socket::<Conn>::new(net, v6, Proto::Tcp) {
            Ok(s) => s,
            Err(e) => return Err((Some(client), e)),
        };
        upstream.set_syn_retries(rt.syn_retries.load(Ordering::Relaxed) as i32);
        let (c2s, s2c) = match (Dir::new(), Dir::new()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Err((Some(client), ENOMEM)),
        };
        let conn = match Arc::pin_init(
            pin_init!(Conn {
                rt,
                last: AtomicU64::new(u64::MAX),
                work <- new_work!("mptcp_proxy_conn"),
                inner <- new_mutex!(Inner {
                    client: None,
                    upstream: None,
                    state: State::Connecting,
                    c2s,
                    s2c,
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
    fn abort(&self) -> bool {
        let mut inner = self.inner.lock();
        let open = inner.state != State::Done;
        Self::close(&mut inner, true);
        open
    }

    fn close(inner: &mut Inner, reset: bool) {
        for s in [inner.client.take(), inner.upstream.take()].into_iter().flatten() {
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
            let readable = if d.buf.is_some() { Ok(true) } else { from.readable() };
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
            let Inner { client, upstream, c2s, s2c, .. } = &mut *inner;
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
