// SPDX-License-Identifier: GPL-2.0

//! The proxy of one network namespace while its port is set: the listener, the targets
//! the gate let through, the proxied connections and their idle timeout.
//!
//! A [`Runtime`] owns an in-kernel MPTCP listening socket on the proxy port (IPv6,
//! dual-stack), the table of targets the gate let through ([`Pending`]), and the proxied
//! connections ([`Conn`], in `conn.rs`). Everything runs in work items on the module's
//! workqueue: socket callbacks (softirq) only queue work, never a thread per connection.
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
use kernel::rbtree::RBTree;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

use super::conn::Conn;
use super::option::Target;
use super::pending::{Entry, Inserted, Key, Pending};
use super::stats::Stat;
use crate::inet::addr::Addr;
use crate::sys::net::{Net, NetHandle};
use crate::sys::socket::{Proto, SockError, Socket, Wake};
use crate::sys::sync::{new_spinlock_bh, SpinLockBh};
use crate::sys::time::now_ms;
use crate::sys::timer::{Fire, Timer};

/// Pending targets remembered per namespace.
pub(crate) const PENDING: usize = 1024;
/// How long a pending target waits for its connection to be accepted, ms.
pub(crate) const PENDING_MS: u64 = 30_000;

pub(super) fn stat(net: &Net, s: Stat) {
    if let Some(d) = net.data::<crate::NetData>() {
        d.proxy.count(s);
    }
}

/// The counter of an upstream connection failure.
pub(super) fn upstream_stat(e: SockError) -> Stat {
    match e {
        SockError::Refused | SockError::Reset => Stat::UpstreamRefused,
        SockError::TimedOut => Stat::UpstreamTimeout,
        SockError::Unreachable => Stat::UpstreamUnreachable,
        SockError::Other => Stat::UpstreamFailed,
    }
}

pub(super) fn queue() -> Option<&'static kernel::workqueue::Queue> {
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
    pub(super) net: NetHandle,
    max_conns: AtomicUsize,
    pub(super) syn_retries: AtomicU32,
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
        self.syn_retries
            .store(limits.syn_retries, Ordering::Relaxed);
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
        let r = self.pending.lock().insert(
            Key {
                addr: client.unmapped(),
                port,
            },
            target,
            now_ms,
        );
        if r == Inserted::Evicted {
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
        let now = now_ms();
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
            if self.closing.load(Ordering::Acquire)
                || conns.count >= self.max_conns.load(Ordering::Relaxed)
            {
                drop(conns);
                if !self.closing.load(Ordering::Acquire) {
                    stat(net, Stat::RefusedTooMany);
                }
                conn.abort();
                return;
            }
            let key = &*conn as *const Conn as usize;
            if conns
                .tree
                .try_create_and_insert(key, conn.clone(), GFP_KERNEL)
                .is_err()
            {
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

    /// Removes a connection that ended.
    pub(super) fn forget(&self, conn: &Conn) {
        let mut conns = self.conns.lock();
        if conns.tree.remove(&(conn as *const Conn as usize)).is_some() {
            conns.count -= 1;
        }
    }

    /// Targets waiting for their connection to be accepted.
    pub(crate) fn pending(&self) -> usize {
        self.pending.lock().len(now_ms())
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
