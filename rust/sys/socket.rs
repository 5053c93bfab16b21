// SPDX-License-Identifier: GPL-2.0

//! Kernel sockets (`sock_create_kern`), non-blocking, whose readiness callbacks wake an
//! object shared with them.
//!
//! C headers: [`include/linux/net.h`](srctree/include/linux/net.h),
//! [`include/net/sock.h`](srctree/include/net/sock.h)

use core::ptr;
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::bindings;
use kernel::error::{code::*, to_result, Error, Result};
use kernel::sync::{Arc, ArcBorrow};

use super::net::Net;
use super::sockaddr::{parse_sockaddr, sockaddr};
use crate::inet::addr::Addr;

/// Why a connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockError {
    Refused,
    TimedOut,
    Unreachable,
    Reset,
    Other,
}

impl SockError {
    /// Classifies a positive errno value (a socket's `sk_err`).
    fn of_errno(errno: u32) -> SockError {
        match errno {
            bindings::ECONNREFUSED => SockError::Refused,
            bindings::ETIMEDOUT => SockError::TimedOut,
            bindings::EHOSTUNREACH | bindings::ENETUNREACH => SockError::Unreachable,
            bindings::ECONNRESET => SockError::Reset,
            _ => SockError::Other,
        }
    }

    /// Classifies an error returned by a socket call (e.g. a `connect` that failed at once).
    pub(crate) fn of(e: Error) -> SockError {
        Self::of_errno(e.to_errno().unsigned_abs())
    }
}

/// `SIOCOUTQ` (`TIOCOUTQ` in include/uapi/asm-generic/ioctls.h, which bindgen does not
/// see).
const SIOCOUTQ: kernel::ffi::c_int = 0x5411;
/// `SIOCOUTQNSD` (include/uapi/linux/sockios.h).
const SIOCOUTQNSD: kernel::ffi::c_int = bindings::SIOCOUTQNSD as kernel::ffi::c_int;

/// Where a connection stands (see [`Socket::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Not established yet.
    Connecting,
    /// Established (or the peer closed its side only).
    Established,
    /// Closed without a pending error.
    Closed,
    /// A pending error: reset, refused, timed out...
    Failed(SockError),
}

/// Protocols the module opens.
#[derive(Clone, Copy)]
pub(crate) enum Proto {
    Tcp,
    Mptcp,
}

/// An object that socket callbacks wake (e.g. by queueing a work item).
pub(crate) trait Wake: Send + Sync + Sized {
    /// Called from the socket's `sk_data_ready`, `sk_write_space` or `sk_state_change`,
    /// in softirq or process context: must not sleep.
    fn wake(this: ArcBorrow<'_, Self>);
}

/// An owned kernel socket; released (closed) on drop.
///
/// Namespace references: a kernel socket does not hold its namespace, so the module
/// closes its sockets at the namespace's exit. But a socket released while the namespace
/// lives becomes the TCP stack's orphan, which may go on (FIN exchange, retransmissions)
/// after the namespace is gone: on drop it therefore takes a reference on the namespace
/// first, as a user socket holds one, and the namespace stays until the orphan is freed.
/// The other way round, MPTCP gives a listener's subflow a namespace reference (for
/// user sockets' sake), which would keep a proxy's namespace alive forever; see
/// [`Socket::listen`].
///
/// Readiness (data, write space, state changes, errors) is observed through an entry on
/// the socket's wait queue, as `poll()`/epoll do, not by replacing the `sk_*` callbacks:
/// MPTCP does not call `sk_write_space` (it wakes the wait queue), and callbacks and
/// `sk_user_data` would be copied into every connection a listener accepts.
///
/// # Invariants
///
/// `sock` is a valid `struct socket` created by `sock_create_kern` or `kernel_accept`,
/// owned by this value. `waiter`, when set, is on the socket's wait queue and holds one
/// reference on its `W` (from `Arc::into_raw`).
pub(crate) struct Socket<W: Wake> {
    sock: *mut bindings::socket,
    waiter: Option<KBox<Waiter<W>>>,
}

/// A wait-queue entry whose wake function wakes `owner`.
#[repr(C)]
struct Waiter<W: Wake> {
    // First, so that the entry pointer the wake function gets is the `Waiter`'s.
    entry: bindings::wait_queue_entry,
    owner: *const W,
}

// SAFETY: the socket is owned; the kernel serialises operations on it with its own lock.
unsafe impl<W: Wake> Send for Socket<W> {}
// SAFETY: methods taking `&self` only call kernel socket functions, which lock.
unsafe impl<W: Wake> Sync for Socket<W> {}

impl<W: Wake> Socket<W> {
    fn from_raw(sock: *mut bindings::socket) -> Self {
        Socket { sock, waiter: None }
    }

    fn sk(&self) -> *mut bindings::sock {
        // SAFETY: valid socket per the invariants; `sk` is set for its lifetime.
        unsafe { (*self.sock).sk }
    }

    /// A new socket in `net`: IPv6 if `v6` (dual-stack for a listener), else IPv4.
    pub(crate) fn new(net: &Net, v6: bool, proto: Proto) -> Result<Self> {
        let family = if v6 {
            bindings::AF_INET6
        } else {
            bindings::AF_INET
        } as i32;
        let protocol = match proto {
            Proto::Tcp => bindings::IPPROTO_TCP,
            Proto::Mptcp => bindings::IPPROTO_MPTCP,
        } as i32;
        let mut sock = ptr::null_mut();
        // SAFETY: valid namespace; `sock` receives the new socket.
        to_result(unsafe {
            bindings::sock_create_kern(
                net.as_ptr(),
                family,
                bindings::sock_type_SOCK_STREAM as i32,
                protocol,
                &mut sock,
            )
        })?;
        if let Proto::Mptcp = proto {
            // A kernel MPTCP socket and its subflow would share a lock class, and MPTCP
            // takes the subflow's lock under the MPTCP socket's (binding, for one): give
            // the MPTCP socket a class of its own, as the in-kernel path manager does.
            // SAFETY: a socket just created, not yet used or visible to anyone else.
            unsafe { bindings::sock_lock_init_class_and_name_mptcp((*sock).sk, v6) };
        }
        Ok(Self::from_raw(sock))
    }

    /// Binds to the wildcard address and `port` and listens.
    pub(crate) fn listen(&self, port: u16, backlog: i32) -> Result {
        // SAFETY: valid socket.
        unsafe { bindings::sock_set_reuseaddr((*self.sock).sk) };
        let (mut ss, len) = sockaddr(Addr::V6([0; 16]), port, true);
        // SAFETY: valid socket and address of `len` bytes.
        to_result(unsafe { bindings::kernel_bind(self.sock, ptr::addr_of_mut!(ss).cast(), len) })?;
        // Before listening: binding created the MPTCP subflow, and no connection can be
        // cloned from it yet (a clone copies its reference flag).
        self.unpin_mptcp_listener();
        // SAFETY: valid, bound socket.
        to_result(unsafe { bindings::kernel_listen(self.sock, backlog) })
    }

    /// An MPTCP listener listens on a TCP subflow that MPTCP created with a namespace
    /// reference (`sk_net_refcnt_upgrade()`): our listener, closed at the namespace's
    /// exit, would keep the namespace from ever exiting. Drop that reference so the
    /// subflow is a kernel socket like its MPTCP socket. Connections it accepts are
    /// clones without a reference too; they hold their MPTCP socket, which holds the
    /// namespace once released (see [`Drop`]), or are reset at the namespace's exit.
    /// Not covered: subflows that the proxy's own path manager would open on an
    /// accepted connection (`mptcp_subflow_create_socket()` gives them a reference);
    /// the proxy's namespace is meant to accept subflows, not to open them, and such a
    /// connection keeps the namespace until it ends (at the latest, the idle timeout).
    ///
    /// Lock classes: MPTCP clones the listening MPTCP socket, in softirq, while it holds
    /// the new subflow's spinlock; with both kernel sockets the two locks share a class
    /// and lockdep reports recursive locking (the in-kernel path manager's listeners never
    /// accept new connections, so MPTCP itself never meets this). The listening socket is
    /// therefore marked as not a kernel socket (`sk_kern_sock`), as a user-space listener
    /// is: its clones get the user-socket lock class, distinct from the subflows', and
    /// `kernel_accept()` marks each accepted one as a kernel socket again. Apart from the
    /// lock class of the clones, the mark matters only to the cgroup BPF release hook.
    fn unpin_mptcp_listener(&self) {
        let sk = self.sk();
        // SAFETY: valid socket; the protocol field is set at creation.
        if unsafe { (*sk).sk_protocol } != bindings::IPPROTO_MPTCP as u16 {
            return;
        }
        // SAFETY: `sk` is a bound MPTCP socket (a `struct mptcp_sock`), owned and locked
        // here; `first` is the subflow binding created, stable from now on. Nothing else
        // touches the flags of either before `kernel_listen` (no clone exists yet).
        unsafe {
            bindings::lock_sock(sk);
            let ssk = (*sk.cast::<bindings::mptcp_sock>()).first;
            (*sk).set_sk_kern_sock(0);
            if !ssk.is_null() && (*ssk).__sk_common.skc_net_refcnt() != 0 {
                let net = bindings::sock_net(ssk);
                // The reverse of `sk_net_refcnt_upgrade()`: a kernel socket holds a
                // passive reference instead (`net_passive_inc()`), dropped when it is
                // freed. No netns refcount tracker in this configuration (see below).
                (*ssk).__sk_common.set_skc_net_refcnt(0);
                bindings::sock_inuse_add(net, -1);
                bindings::refcount_inc(ptr::addr_of_mut!((*net).passive));
                bindings::put_net(net);
            }
            bindings::release_sock(sk);
        }
    }

    /// Makes the socket hold a reference on its namespace, if it does not and the
    /// namespace is not exiting; `false` if it is exiting.
    fn pin_namespace(&self) -> bool {
        let sk = self.sk();
        // SAFETY: valid socket.
        if unsafe { (*sk).__sk_common.skc_net_refcnt() } != 0 {
            return true;
        }
        // SAFETY: valid socket, its namespace alive while it is ours. Holding a reference
        // of our own, the upgrade cannot meet a zero count.
        unsafe {
            let net = bindings::sock_net(sk);
            let held = bindings::maybe_get_net(net);
            if held.is_null() {
                return false;
            }
            bindings::sk_net_refcnt_upgrade(sk);
            bindings::put_net(held);
        }
        true
    }

    /// Accepts a pending connection; `Ok(None)` when there is none.
    pub(crate) fn accept<V: Wake>(&self) -> Result<Option<Socket<V>>> {
        let mut new = ptr::null_mut();
        // SAFETY: valid listening socket; `new` receives the accepted socket.
        let r =
            unsafe { bindings::kernel_accept(self.sock, &mut new, bindings::O_NONBLOCK as i32) };
        match r {
            0 => Ok(Some(Socket::<V>::from_raw(new))),
            e if e == EAGAIN.to_errno() => Ok(None),
            e => Err(Error::from_errno(e)),
        }
    }

    /// Starts a non-blocking connect; completion is signalled by the state callback.
    pub(crate) fn connect(&self, addr: Addr, port: u16, v6: bool) -> Result {
        let (mut ss, len) = sockaddr(addr, port, v6);
        // SAFETY: valid socket and address of `len` bytes.
        let r = unsafe {
            bindings::kernel_connect(
                self.sock,
                ptr::addr_of_mut!(ss).cast(),
                len,
                bindings::O_NONBLOCK as i32,
            )
        };
        if r == 0 || r == -(bindings::EINPROGRESS as i32) {
            Ok(())
        } else {
            Err(Error::from_errno(r))
        }
    }

    /// The peer's address (IPv4-mapped addresses as IPv4) and port.
    pub(crate) fn peer(&self) -> Option<(Addr, u16)> {
        let mut ss = bindings::__kernel_sockaddr_storage::default();
        // SAFETY: valid socket; `ss` is large enough for any address.
        let r = unsafe { bindings::kernel_getpeername(self.sock, ptr::addr_of_mut!(ss).cast()) };
        if r < 0 {
            return None;
        }
        parse_sockaddr(&ss)
    }

    /// The local address (IPv4-mapped addresses as IPv4) and port.
    pub(crate) fn local(&self) -> Option<(Addr, u16)> {
        let mut ss = bindings::__kernel_sockaddr_storage::default();
        // SAFETY: valid socket; `ss` is large enough for any address.
        let r = unsafe { bindings::kernel_getsockname(self.sock, ptr::addr_of_mut!(ss).cast()) };
        if r < 0 {
            return None;
        }
        parse_sockaddr(&ss)
    }

    /// Limits SYN retransmissions (how long a connect may take).
    pub(crate) fn set_syn_retries(&self, n: i32) {
        // SAFETY: valid TCP socket.
        unsafe { bindings::tcp_sock_set_syncnt(self.sk(), n) };
    }

    /// Reads what is available without blocking: `Ok(0)` at end of stream, `EAGAIN` if
    /// nothing yet.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        self.recv_flags(buf, 0)
    }

    /// Whether there is something to read without blocking: `Ok(true)` for data,
    /// `Ok(false)` at end of stream, `EAGAIN` for nothing yet (data stays queued).
    pub(crate) fn readable(&self) -> Result<bool> {
        let mut one = [0u8; 1];
        self.recv_flags(&mut one, bindings::MSG_PEEK).map(|n| n > 0)
    }

    fn recv_flags(&self, buf: &mut [u8], flags: u32) -> Result<usize> {
        let mut msg = bindings::msghdr::default();
        let mut iov = bindings::kvec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: valid socket; `iov` describes `buf`, writable for its length.
        let r = unsafe {
            bindings::kernel_recvmsg(
                self.sock,
                &mut msg,
                &mut iov,
                1,
                buf.len(),
                (bindings::MSG_DONTWAIT | flags) as i32,
            )
        };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(r as usize)
        }
    }

    /// Writes what fits without blocking; `EAGAIN` if nothing fits.
    pub(crate) fn send(&self, buf: &[u8]) -> Result<usize> {
        let mut msg = bindings::msghdr {
            msg_flags: bindings::MSG_DONTWAIT | bindings::MSG_NOSIGNAL,
            ..Default::default()
        };
        let mut iov = bindings::kvec {
            iov_base: buf.as_ptr() as *mut _,
            iov_len: buf.len(),
        };
        // SAFETY: valid socket; `iov` describes `buf`, only read.
        let r = unsafe { bindings::kernel_sendmsg(self.sock, &mut msg, &mut iov, 1, buf.len()) };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(r as usize)
        }
    }

    /// Whether the send buffer has room (`sk_wmem_queued < sk_sndbuf`, the test of
    /// `sk_stream_memory_free`). A non-blocking send that fails with `EAGAIN` while it
    /// has room failed to get memory (the socket's or the protocol's limits under
    /// pressure): no write-space wake-up is due for that, since nothing in flight may
    /// free any, and the caller must retry on its own.
    pub(crate) fn has_send_room(&self) -> bool {
        let sk = self.sk();
        // SAFETY: valid socket; both fields are read with volatile (READ_ONCE-like) loads,
        // as the kernel's own lockless test does.
        unsafe {
            ptr::read_volatile(ptr::addr_of!((*sk).sk_wmem_queued))
                < ptr::read_volatile(ptr::addr_of!((*sk).sk_sndbuf))
        }
    }

    /// Sends FIN (DATA_FIN for MPTCP): no more data from us.
    pub(crate) fn shutdown_write(&self) {
        // SAFETY: valid socket.
        unsafe { bindings::kernel_sock_shutdown(self.sock, bindings::sock_shutdown_cmd_SHUT_WR) };
    }

    /// Makes the coming release a reset instead of a graceful close.
    pub(crate) fn set_abort_on_close(&self) {
        // SAFETY: valid socket.
        unsafe { bindings::sock_no_linger(self.sk()) };
    }

    /// Where the connection stands. A pending error is reported (not consumed: a
    /// `recv` still returns the data queued before it).
    pub(crate) fn status(&self) -> Status {
        match self.err_and_state() {
            (0, bindings::TCP_ESTABLISHED | bindings::TCP_CLOSE_WAIT) => Status::Established,
            (0, bindings::TCP_CLOSE) => Status::Closed,
            (0, _) => Status::Connecting,
            (e, _) => Status::Failed(SockError::of_errno(e)),
        }
    }

    /// Bytes written but not yet acknowledged by the peer (`SIOCOUTQ`: for MPTCP, at the
    /// connection level); `None` if the socket cannot tell (listening).
    pub(crate) fn unacked(&self) -> Option<usize> {
        self.ioctl_int(SIOCOUTQ)
    }

    /// A protocol `ioctl` (process context) whose result is a non-negative `int`.
    fn ioctl_int(&self, cmd: kernel::ffi::c_int) -> Option<usize> {
        let sk = self.sk();
        let mut n: kernel::ffi::c_int = 0;
        // SAFETY: valid socket; `sk_prot` is set for its lifetime. The protocol's `ioctl`
        // takes a kernel pointer for its result (since 6.5) and locks what it needs.
        let r = unsafe {
            match (*(*sk).__sk_common.skc_prot).ioctl {
                Some(ioctl) => ioctl(sk, cmd, &mut n),
                None => return None,
            }
        };
        (r == 0).then(|| usize::try_from(n).ok()).flatten()
    }

    /// The connection's state as `ss` names it, and its pending error (0 for none);
    /// read without the socket's lock (a snapshot, for diagnostics).
    pub(crate) fn state(&self) -> (&'static str, u32) {
        let (err, state) = self.err_and_state();
        let name = match state {
            bindings::TCP_ESTABLISHED => "ESTAB",
            bindings::TCP_SYN_SENT => "SYN-SENT",
            bindings::TCP_SYN_RECV => "SYN-RECV",
            bindings::TCP_FIN_WAIT1 => "FIN-WAIT-1",
            bindings::TCP_FIN_WAIT2 => "FIN-WAIT-2",
            bindings::TCP_TIME_WAIT => "TIME-WAIT",
            bindings::TCP_CLOSE => "UNCONN",
            bindings::TCP_CLOSE_WAIT => "CLOSE-WAIT",
            bindings::TCP_LAST_ACK => "LAST-ACK",
            bindings::TCP_LISTEN => "LISTEN",
            bindings::TCP_CLOSING => "CLOSING",
            _ => "UNKNOWN",
        };
        (name, err)
    }

    /// The pending error (`sk_err`, 0 for none) and the TCP state, read without the
    /// socket's lock.
    fn err_and_state(&self) -> (u32, u32) {
        let sk = self.sk();
        // SAFETY: valid socket; both fields are read with volatile (READ_ONCE-like) loads.
        unsafe {
            (
                ptr::read_volatile(ptr::addr_of!((*sk).sk_err)) as u32,
                ptr::read_volatile(ptr::addr_of!((*sk).__sk_common.skc_state)) as u32,
            )
        }
    }

    /// Receive memory in use (`sk_rmem_alloc`: what `ss` shows as an MPTCP socket's
    /// Recv-Q), read without the socket's lock.
    pub(crate) fn rmem(&self) -> usize {
        let sk = self.sk();
        // SAFETY: valid socket; an atomic counter, read with a volatile load.
        let n = unsafe { ptr::read_volatile(ptr::addr_of!((*sk).sk_backlog.rmem_alloc.counter)) };
        usize::try_from(n).unwrap_or(0)
    }

    /// Bytes written but not yet sent (`SIOCOUTQNSD`; for MPTCP, not yet sent on any
    /// subflow); `None` if the socket cannot tell (listening).
    pub(crate) fn unsent(&self) -> Option<usize> {
        self.ioctl_int(SIOCOUTQNSD)
    }

    /// From now on, every wake-up of the socket (data, space, state, error) calls
    /// `W::wake(owner)`.
    pub(crate) fn hook(&mut self, owner: &Arc<W>) -> Result {
        if self.waiter.is_some() {
            return Ok(());
        }
        let entry = bindings::wait_queue_entry {
            func: Some(wake_function::<W>),
            ..Default::default()
        };
        let mut w = KBox::new(
            Waiter {
                entry,
                owner: Arc::into_raw(owner.clone()),
            },
            GFP_KERNEL,
        )
        .map_err(|_| ENOMEM)?;
        // SAFETY: valid socket whose `wq` lives as long as it; the entry is initialised
        // (`init_waitqueue_func_entry()`: flags 0, no private, our function) and stays at
        // this address until `unhook` removes it.
        unsafe {
            bindings::add_wait_queue(
                ptr::addr_of_mut!((*self.sock).wq.wait),
                ptr::addr_of_mut!(w.entry),
            )
        };
        self.waiter = Some(w);
        Ok(())
    }

    /// Takes the entry off the wait queue and drops its reference.
    fn unhook(&mut self) {
        if let Some(mut w) = self.waiter.take() {
            // SAFETY: the entry was added in `hook`; removing takes the wait-queue lock, so
            // no wake function runs on it afterwards.
            unsafe {
                bindings::remove_wait_queue(
                    ptr::addr_of_mut!((*self.sock).wq.wait),
                    ptr::addr_of_mut!(w.entry),
                )
            };
            // SAFETY: `owner` came from `Arc::into_raw` in `hook`.
            drop(unsafe { Arc::from_raw(w.owner) });
        }
    }
}

// `unpin_mptcp_listener` undoes `sk_net_refcnt_upgrade()` by hand; with the netns
// reference tracker the tracker would have to be freed too.
#[cfg(CONFIG_NET_NS_REFCNT_TRACKER)]
compile_error!("Socket::unpin_mptcp_listener does not handle CONFIG_NET_NS_REFCNT_TRACKER");

// It also relies on the rule that a kernel socket holds a passive reference on its
// namespace (`net->passive`, taken in sk_alloc() and dropped by net_passive_dec() when
// the socket is freed), which kernels since 6.12 follow: the reference it gives back is
// turned into that one. A kernel without net_passive_dec() has another rule, and this
// does not build there.
#[cfg(CONFIG_NET_NS)]
const _: unsafe extern "C" fn(*mut bindings::net) = bindings::net_passive_dec;

impl<W: Wake> Drop for Socket<W> {
    fn drop(&mut self) {
        self.unhook();
        // The namespace is exiting (its count reached zero): reset rather than leave an
        // orphan without a reference behind.
        if !self.pin_namespace() {
            self.set_abort_on_close();
        }
        // SAFETY: owned socket, released once.
        unsafe { bindings::sock_release(self.sock) };
    }
}

/// The wake function of the entries [`Socket::hook`] adds.
///
/// # Safety
///
/// Only the wait queue calls it, with its lock held, for an entry `hook` added.
unsafe extern "C" fn wake_function<W: Wake>(
    entry: *mut bindings::wait_queue_entry,
    _mode: kernel::ffi::c_uint,
    _flags: kernel::ffi::c_int,
    _key: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    // CAST: `entry` is the first field of a `repr(C)` `Waiter<W>`.
    let w = entry.cast::<Waiter<W>>();
    // SAFETY: the wait queue calls this with its lock held, for an entry `hook` added and
    // `unhook` has not removed yet, so the `Waiter` and its reference on `owner` are alive.
    unsafe { W::wake(ArcBorrow::from_raw((*w).owner)) };
    // Not an exclusive waiter: never counts as the one woken.
    0
}
