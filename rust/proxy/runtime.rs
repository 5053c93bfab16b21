// SPDX-License-Identifier: GPL-2.0

//! The proxy of one network namespace while its port is set: the listener, the targets
//! the gate let through, the proxied connections and their idle timeout.
//!
//! A [`Runtime`] owns an in-kernel MPTCP listening socket on the proxy port (IPv6,
//! dual-stack), the table of targets the gate let through ([`Pending`]), and the proxied
//! connections ([`Conn`], in `conn.rs`). Everything runs in work items on the module's
//! workqueue: socket callbacks (softirq) only queue work, never a thread per connection.
//!
//! Limits: `max_conns` connections at once and `max_conns_per_client` per client
//! address, both checked when a connection is accepted, before anything is sent to the
//! target.
//!
//! A timer per runtime queues a scan of the connections: one with no progress in either
//! direction for the namespace's idle timeout is reset on both sides (the scan runs
//! every [`scan_period_ms`], an eighth of the timeout, 1 s to 60 s, so a connection goes
//! between one timeout and one timeout plus a period after its last byte); an upstream
//! connect that outlives its own SYN retransmissions by [`CONNECT_SLACK_MS`] is given
//! up. A draining connection (see `conn.rs`) is on a list of its own, which a second,
//! timer polls every [`DRAIN_POLL_MS`] while it is not empty (the full scan's timer
//! visits every connection at its period); it is reset after
//! [`DRAIN_IDLE_MS`] without progress.
//!
//! Locks: `Conn::inner` (a mutex, held by the connection's work item) then
//! `Runtime::conns` (a mutex, process context): a connection that ends removes itself
//! from the table while it holds its own lock, and nothing takes them the other way (the
//! scan and shutdown take `conns`, collect, drop it, then abort). `Runtime::pending` (a
//! BH spinlock, also taken by the gate in softirq) is never held with another lock.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

use super::conn::{Conn, Phase, DRAIN_IDLE_MS, DRAIN_POLL_MS};
use super::conns::Conns;
use super::option::Target;
use super::pending::{Count, Entry, Inserted, Key, Pending};
use super::stats::Stat;
use super::{queue, stat, upstream_stat};
use crate::inet::addr::Endpoint;
use crate::sys::net::{Net, NetHandle};
use crate::sys::proc::SeqWriter;
use crate::sys::socket::{Proto, SockError, Socket, Wake};
use crate::sys::sync::{new_spinlock_bh, SpinLockBh};
use crate::sys::time::{now_ms, random_u64};
use crate::sys::timer::{Fire, Timer};

/// Pending targets remembered per namespace.
pub(crate) const PENDING: usize = 1024;
/// Of which one client address may hold at most this many.
pub(crate) const PENDING_PER_CLIENT: u32 = 128;
/// How long a pending target waits for its connection to be accepted, ms.
pub(crate) const PENDING_MS: u64 = 30_000;

/// How often connections are checked for the idle timeout `idle_ms` (not 0).
pub(crate) fn scan_period_ms(idle_ms: u64) -> u32 {
    (idle_ms / 8).clamp(1000, 60_000) as u32
}

/// How often connections are checked when there is no idle timeout, ms.
const SCAN_NO_IDLE_MS: u32 = 5000;
/// How long an upstream connect may outlive its SYN retransmissions, ms.
pub(crate) const CONNECT_SLACK_MS: u64 = 2000;

/// How long an upstream connect with `syn_retries` retransmissions takes at most: the
/// SYN and each retransmission wait twice as long as the one before, from 1 s.
fn connect_limit_ms(syn_retries: u32) -> u64 {
    ((1u64 << (syn_retries.min(16) + 1)) - 1) * 1000 + CONNECT_SLACK_MS
}

/// The limits a runtime applies, from the namespace's configuration.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_conns: usize,
    /// Most connections of one client address; 0: no limit.
    pub(crate) max_per_client: usize,
    pub(crate) syn_retries: u32,
    /// Idle timeout in ms; 0: none.
    pub(crate) idle_ms: u64,
}

/// The proxy of one namespace while its port is set.
#[pin_data]
pub(crate) struct Runtime {
    pub(super) net: NetHandle,
    max_conns: AtomicUsize,
    max_per_client: AtomicUsize,
    pub(super) syn_retries: AtomicU32,
    idle_ms: AtomicU64,
    closing: AtomicBool,
    #[pin]
    accept_work: Work<Runtime>,
    /// The scan, queued by `tick` and `drain_tick`.
    #[pin]
    scan_work: Work<Runtime, 1>,
    /// The full scan's timer (idle, connect limits): not deferrable, so that an idle
    /// connection goes within a period after its timeout even on an idle machine.
    #[pin]
    tick: Timer<Runtime>,
    /// The draining connections' timer: every [`DRAIN_POLL_MS`] while there are any.
    #[pin]
    drain_tick: Timer<Runtime>,
    /// When the next full scan is due, `now_ms`.
    next_full_ms: AtomicU64,
    #[pin]
    listener: Mutex<Option<Socket<Runtime>>>,
    #[pin]
    pending: SpinLockBh<Pending<KVec<Option<Entry>>, KVec<Option<Count>>>>,
    /// The connections, by address.
    #[pin]
    conns: Mutex<Conns>,
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
        let counts = KVec::from_elem(None, PENDING, GFP_KERNEL)?;
        let pending = Pending::new(
            slots,
            counts,
            [random_u64(), random_u64()],
            PENDING_MS,
            PENDING_PER_CLIENT,
        );
        let conns = Conns {
            tree: RBTree::new(),
            count: 0,
            per_client: RBTree::new(),
            draining: RBTree::new(),
        };
        let rt = Arc::pin_init(
            pin_init!(Runtime {
                net: NetHandle::new(net),
                max_conns: AtomicUsize::new(limits.max_conns),
                max_per_client: AtomicUsize::new(limits.max_per_client),
                syn_retries: AtomicU32::new(limits.syn_retries),
                idle_ms: AtomicU64::new(limits.idle_ms),
                closing: AtomicBool::new(false),
                accept_work <- new_work!("mptcp_proxy_accept"),
                scan_work <- new_work!("mptcp_proxy_scan"),
                tick <- Timer::new(false),
                drain_tick <- Timer::new(false),
                next_full_ms: AtomicU64::new(0),
                listener <- new_mutex!(None, "mptcp_proxy_listener"),
                pending <- new_spinlock_bh!(pending, "mptcp_proxy_pending"),
                conns <- new_mutex!(conns, "mptcp_proxy_conns"),
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
                rt.drain_tick.shutdown();
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
        self.max_per_client
            .store(limits.max_per_client, Ordering::Relaxed);
        self.syn_retries
            .store(limits.syn_retries, Ordering::Relaxed);
        self.idle_ms.store(limits.idle_ms, Ordering::Relaxed);
        self.arm_tick();
    }

    /// Arms the full scan at its period (brings a later expiry forward; no-op once shut
    /// down).
    pub(super) fn arm_tick(self: &Arc<Self>) {
        if !self.closing.load(Ordering::Acquire) {
            let period = self.scan_period();
            self.next_full_ms
                .store(now_ms() + period as u64, Ordering::Relaxed);
            self.tick.arm(self, period);
        }
    }

    /// `conn` started draining: polled from now on, within [`DRAIN_POLL_MS`].
    pub(super) fn drain(self: &Arc<Self>, conn: &Arc<Conn>) {
        {
            let mut conns = self.conns.lock();
            let key = &**conn as *const Conn as usize;
            // Only a connection still in the table (not one being forgotten); out of
            // memory, the full scan finds it (it is Draining) and polls it.
            if conns.tree.get(&key).is_some() && conns.draining.get(&key).is_none() {
                let _ = conns
                    .draining
                    .try_create_and_insert(key, conn.clone(), GFP_KERNEL);
            }
        }
        if !self.closing.load(Ordering::Acquire) {
            self.drain_tick.arm(self, DRAIN_POLL_MS);
        }
    }

    fn scan_period(&self) -> u32 {
        match self.idle_ms.load(Ordering::Relaxed) {
            0 => SCAN_NO_IDLE_MS,
            idle => scan_period_ms(idle),
        }
    }

    /// Polls the draining connections (each poll visits only them) and, when due, scans
    /// all of them for their limits (idle, connect, drain); re-arms what is needed.
    fn scan_idle(self: &Arc<Self>) {
        if self.closing.load(Ordering::Acquire) {
            return;
        }
        let now = now_ms();
        let full = now >= self.next_full_ms.load(Ordering::Relaxed);
        let idle = self.idle_ms.load(Ordering::Relaxed);
        let connect = connect_limit_ms(self.syn_retries.load(Ordering::Relaxed));
        let mut expired = KVec::new();
        let mut poll = KVec::new();
        let draining;
        {
            let mut conns = self.conns.lock();
            let verdict = |c: &Arc<Conn>| {
                let age = now.saturating_sub(c.last.load(Ordering::Relaxed));
                match c.phase() {
                    Phase::Connecting if full && age >= connect => Some(Stat::UpstreamTimeout),
                    Phase::Relaying if full && idle != 0 && age >= idle => {
                        Some(Stat::ConnIdleTimeout)
                    }
                    Phase::Draining if age >= DRAIN_IDLE_MS => Some(Stat::ConnReset),
                    _ => None,
                }
            };
            // Out of memory: the rest are found on the next scan.
            let mut look = |key: usize, c: &Arc<Conn>| match verdict(c) {
                Some(why) => expired.push((key, c.clone(), why), GFP_KERNEL).is_ok(),
                None if c.phase() == Phase::Draining => poll.push(c.clone(), GFP_KERNEL).is_ok(),
                None => true,
            };
            if full {
                for (&key, c) in conns.tree.iter() {
                    if !look(key, c) {
                        break;
                    }
                }
            } else {
                for (&key, c) in conns.draining.iter() {
                    if !look(key, c) {
                        break;
                    }
                }
            }
            for (key, c, _) in expired.iter() {
                if conns.tree.remove(key).is_some() {
                    conns.release(c.client.0);
                }
                conns.draining.remove(key);
            }
            // Those that stopped draining (done, or relaying again) leave the list.
            let mut gone = KVec::new();
            for (&key, c) in conns.draining.iter() {
                if c.phase() != Phase::Draining && gone.push(key, GFP_KERNEL).is_err() {
                    break;
                }
            }
            for key in gone.iter() {
                conns.draining.remove(key);
            }
            draining = conns.draining.iter().next().is_some() || !poll.is_empty();
        }
        let net = self.net.get();
        for (_, c, why) in expired {
            if c.abort() {
                stat(net, why);
            }
        }
        if let Some(q) = queue() {
            for c in poll {
                let _ = q.enqueue(c);
            }
        }
        if self.closing.load(Ordering::Acquire) {
            return;
        }
        if draining {
            self.drain_tick.arm(self, DRAIN_POLL_MS);
        }
        if full {
            self.arm_tick();
        } else {
            // A drain poll, or the tick a moment early (its clock is jiffies, this one
            // is not): the full scan stays due at its time.
            let left = self
                .next_full_ms
                .load(Ordering::Relaxed)
                .saturating_sub(now)
                .clamp(1, u32::MAX as u64);
            self.tick.arm(self, left as u32);
        }
    }

    /// The gate let a SYN through: remember its target (softirq). Anything but
    /// `New` or `Refreshed` means the SYN must be refused.
    pub(crate) fn remember(&self, key: Key, target: Target, now_ms: u64) -> Inserted {
        self.pending.lock().insert(key, target, now_ms)
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
        let (Some((addr, port)), Some((laddr, lport))) = (client.peer(), client.local()) else {
            client.set_abort_on_close();
            return;
        };
        let key = Key {
            saddr: addr,
            sport: port,
            daddr: laddr,
            dport: lport,
        };
        let Some(target) = self.pending.lock().take(key, now_ms()) else {
            stat(net, Stat::AcceptNoTarget);
            client.set_abort_on_close();
            return;
        };
        // The limits first: nothing goes to the target for a connection refused here.
        let admitted = {
            let mut conns = self.conns.lock();
            if self.closing.load(Ordering::Acquire) {
                client.set_abort_on_close();
                return;
            }
            conns.admit(
                addr,
                self.max_conns.load(Ordering::Relaxed),
                self.max_per_client.load(Ordering::Relaxed),
            )
        };
        if let Err(why) = admitted {
            stat(net, why);
            client.set_abort_on_close();
            return;
        }
        let v6 = matches!(target, Target::V6 { .. });
        let target_ep = Endpoint(target.addr(), target.port());
        let conn = match Conn::new(self.clone(), client, Endpoint(addr, port), target_ep, v6) {
            Ok(c) => c,
            Err((client, e)) => {
                self.conns.lock().release(addr);
                stat(net, upstream_stat(SockError::of(e)));
                client.set_abort_on_close();
                return;
            }
        };
        // In the table before any callback can run the connection, so that however it
        // ends, `forget` finds it.
        let inserted = {
            let mut conns = self.conns.lock();
            let key = &*conn as *const Conn as usize;
            if self.closing.load(Ordering::Acquire) {
                Err(None)
            } else {
                conns
                    .tree
                    .try_create_and_insert(key, conn.clone(), GFP_KERNEL)
                    .map(|_| ())
                    .map_err(|_| Some(Stat::RefusedTooMany))
            }
        };
        if let Err(why) = inserted {
            self.conns.lock().release(addr);
            if let Some(why) = why {
                stat(net, why);
            }
            conn.abort();
            return;
        }
        stat(net, Stat::ConnAccepted);
        if let Err(e) = conn.start(target.addr(), target.port(), v6) {
            stat(net, upstream_stat(SockError::of(e)));
            self.forget(&conn);
            return;
        }
        // Data may have arrived before the callbacks were ours.
        if let Some(q) = queue() {
            let _ = q.enqueue(conn);
        }
    }

    /// Removes a connection that ended.
    pub(super) fn forget(&self, conn: &Conn) {
        let mut conns = self.conns.lock();
        let key = conn as *const Conn as usize;
        if conns.tree.remove(&key).is_some() {
            conns.release(conn.client.0);
        }
        conns.draining.remove(&key);
    }

    /// Targets waiting for their connection to be accepted.
    pub(crate) fn pending(&self) -> usize {
        self.pending.lock().live(now_ms())
    }

    /// Whether the runtime is stopping (see [`Runtime::shutdown`]).
    pub(super) fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Connections in progress or relaying.
    pub(crate) fn active(&self) -> usize {
        self.conns.lock().count
    }

    /// `/proc/net/mptcp_proxy`: a header, then a line per connection (see
    /// [`Conn::show`]). The table's lock is not held while a connection is asked (a
    /// connection takes it under its own lock when it ends): references are collected
    /// first, into room allocated before the lock is taken (connections added in
    /// between are left out of this listing).
    pub(crate) fn show_conns(&self, w: &mut SeqWriter) {
        Conn::show_header(w);
        let n = self.conns.lock().count;
        let Ok(mut conns) = KVec::<Arc<Conn>>::with_capacity(n, GFP_KERNEL) else {
            return;
        };
        {
            let table = self.conns.lock();
            for c in table.tree.values() {
                if conns.len() == conns.capacity() || conns.push(c.clone(), GFP_NOWAIT).is_err() {
                    break;
                }
            }
        }
        let now = now_ms();
        for c in conns.iter() {
            c.show(w, now);
        }
    }

    /// Stops everything: the listener, then every connection (reset). Sleeps; the
    /// caller flushes the workqueue afterwards.
    pub(crate) fn shutdown(&self) {
        self.closing.store(true, Ordering::Release);
        self.tick.shutdown();
        self.drain_tick.shutdown();
        drop(self.listener.lock().take());
        let tree = {
            let mut conns = self.conns.lock();
            conns.count = 0;
            conns.per_client = RBTree::new();
            conns.draining = RBTree::new();
            core::mem::replace(&mut conns.tree, RBTree::new())
        };
        for c in tree.values() {
            c.abort();
        }
    }
}
