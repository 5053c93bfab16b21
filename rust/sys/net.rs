// SPDX-License-Identifier: GPL-2.0

//! Network namespaces and the module's per-namespace data (`pernet_operations`).
//!
//! C headers: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h),
//! [`include/net/netns/generic.h`](srctree/include/net/netns/generic.h)

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::bindings;
use kernel::error::{to_result, Result};
use kernel::init::Zeroable;
use kernel::types::Opaque;

use crate::inet::addr::Addr;

/// A network namespace.
///
/// # Invariants
///
/// Wraps a valid `struct net` that stays alive for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct Net(Opaque<bindings::net>);

impl Net {
    /// # Safety
    ///
    /// `net` must be valid and alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(net: *mut bindings::net) -> &'a Net {
        // SAFETY: `Net` is `repr(transparent)` over `struct net`, valid per the caller.
        unsafe { &*net.cast::<Net>() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// Whether the namespace belongs to the initial user namespace (the host's), not to a
    /// container's.
    pub(crate) fn owned_by_host(&self) -> bool {
        // SAFETY: valid `struct net`; `user_ns` is set at creation. `init_user_ns` is a
        // static of the kernel; only its address is taken.
        unsafe { (*self.as_ptr()).user_ns == core::ptr::addr_of_mut!(bindings::init_user_ns) }
    }

    /// The `/proc/net` directory of this namespace.
    pub(crate) fn proc_net(&self) -> *mut bindings::proc_dir_entry {
        // SAFETY: valid `struct net` per the type invariants.
        unsafe { (*self.as_ptr()).proc_net }
    }

    /// The module's data for this namespace (see [`Registration`]); `None` before the
    /// module registered its pernet operations.
    pub(crate) fn data<T: PernetData>(&self) -> Option<&T> {
        let id = NET_ID.load(Ordering::Acquire);
        if id == 0 {
            return None;
        }
        // SAFETY: valid `net`; `id` was assigned by `register_pernet_subsys()`;
        // net_generic() takes the RCU read lock it needs itself.
        let p = unsafe { bindings::net_generic(self.as_ptr(), id) };
        // The block at `id` was allocated zeroed, `size_of::<T>()` bytes (valid for `T:
        // Zeroable`), when the namespace was set up, and is freed when it dies, after
        // `&self`'s lifetime; one pernet registration per module, always of the same `T`.
        // SAFETY: as above.
        unsafe { p.cast::<T>().as_ref() }
    }
}

impl Net {
    /// Runs `f` with the module's data for this namespace if the namespace is not being
    /// dismantled, holding a reference on it meanwhile: for callers that may outlive the
    /// namespace's pernet exit (a socket that holds only the passive reference every
    /// kernel socket has, e.g. an orphaned subflow), whose data is freed after that exit.
    /// Any context.
    pub(crate) fn with_data<T: PernetData, R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        // SAFETY: the `struct net` itself stays allocated (the caller's socket holds at
        // least a passive reference); maybe_get_net() takes a counted reference unless
        // the count already reached zero (the namespace is being dismantled).
        let held = unsafe { bindings::maybe_get_net(self.as_ptr()) };
        if held.is_null() {
            return None;
        }
        let r = self.data::<T>().map(f);
        // SAFETY: the reference taken above; put_net() may run in any context (the last
        // put queues the cleanup work).
        unsafe { bindings::put_net(held) };
        r
    }
}

/// The `net_generic` id of the module's pernet data (0: not registered). One pernet
/// registration per module, so one id.
static NET_ID: AtomicU32 = AtomicU32::new(0);

/// Per-namespace data of the module: zero-initialised by the kernel, then `init`.
///
/// Teardown has two steps, as in the kernel: `pre_exit` unpublishes what RCU readers
/// (packet hooks, softirq callbacks) can reach, without waiting; the kernel then waits
/// for one RCU grace period for the whole batch of dying namespaces (or all of them at
/// unregistration: `ops_undo_list()` in net/core/net_namespace.c), and `exit` frees what
/// `pre_exit` unpublished ([`super::rcu::RcuBox::take_retired`] finds that grace period
/// passed and does not wait). A namespace's exit thus costs no grace period of its own.
pub(crate) trait PernetData: Zeroable + Sync + Sized + 'static {
    /// Called for each namespace when it is created, or at registration for namespaces
    /// that exist already (e.g. to create `/proc/net` files). On failure the data is
    /// freed at once: undo everything first.
    fn init(net: &Net, data: &Self) -> Result;
    /// Called for each namespace when it is torn down, or at unregistration, before the
    /// grace period. Process context.
    fn pre_exit(net: &Net, data: &Self);
    /// Called after `pre_exit` and a grace period; the data is freed right after.
    fn exit(net: &Net, data: &Self);
}

/// A registered `pernet_operations` for `T`; unregisters on drop.
pub(crate) struct Registration<T: PernetData> {
    ops: *mut bindings::pernet_operations,
    _t: PhantomData<T>,
}

// SAFETY: the registration only holds a pointer to an ops table that the kernel owns while
// registered; unregistering from any thread is allowed.
unsafe impl<T: PernetData> Send for Registration<T> {}
// SAFETY: no method takes `&self`.
unsafe impl<T: PernetData> Sync for Registration<T> {}

impl<T: PernetData> Registration<T> {
    pub(crate) fn register() -> Result<Self> {
        let ops = bindings::pernet_operations {
            init: Some(init_callback::<T>),
            pre_exit: Some(pre_exit_callback::<T>),
            exit: Some(exit_callback::<T>),
            // CAST: `AtomicU32` has the layout of `u32`; the kernel writes the id once,
            // before any namespace callback runs.
            id: NET_ID.as_ptr().cast(),
            size: core::mem::size_of::<T>(),
            ..Default::default()
        };
        let ops = KBox::into_raw(KBox::new(ops, GFP_KERNEL)?);
        // SAFETY: `ops` is a valid, fully initialised table that lives until `drop`.
        if let Err(e) = to_result(unsafe { bindings::register_pernet_subsys(ops) }) {
            // SAFETY: registration failed, the kernel does not reference `ops`.
            drop(unsafe { KBox::from_raw(ops) });
            NET_ID.store(0, Ordering::Release);
            return Err(e);
        }
        Ok(Self {
            ops,
            _t: PhantomData,
        })
    }
}

impl<T: PernetData> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: `self.ops` was registered in `register`; this runs `exit` for every
        // namespace and frees their data.
        unsafe { bindings::unregister_pernet_subsys(self.ops) };
        NET_ID.store(0, Ordering::Release);
        // SAFETY: unregistered above; the kernel no longer references the table.
        drop(unsafe { KBox::from_raw(self.ops) });
    }
}

/// The pernet `init` of [`Registration`]'s ops table.
///
/// # Safety
///
/// Only the kernel calls it, with a namespace being set up (alive).
unsafe extern "C" fn init_callback<T: PernetData>(net: *mut bindings::net) -> kernel::ffi::c_int {
    // SAFETY: the kernel calls `init` with a live namespace.
    let net = unsafe { Net::from_raw(net) };
    match net.data::<T>() {
        Some(data) => match T::init(net, data) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        },
        None => kernel::error::code::EINVAL.to_errno(),
    }
}

/// The pernet `pre_exit` of [`Registration`]'s ops table.
///
/// # Safety
///
/// Only the kernel calls it, with a namespace being torn down (still alive).
unsafe extern "C" fn pre_exit_callback<T: PernetData>(net: *mut bindings::net) {
    // SAFETY: the kernel calls `pre_exit` with a namespace that is still alive.
    let net = unsafe { Net::from_raw(net) };
    if let Some(data) = net.data::<T>() {
        T::pre_exit(net, data);
    }
}

/// The pernet `exit` of [`Registration`]'s ops table.
///
/// # Safety
///
/// Only the kernel calls it, with a namespace being torn down (still alive), after the
/// namespace's `pre_exit` and a grace period.
unsafe extern "C" fn exit_callback<T: PernetData>(net: *mut bindings::net) {
    // SAFETY: the kernel calls `exit` with a namespace that is still alive.
    let net = unsafe { Net::from_raw(net) };
    if let Some(data) = net.data::<T>() {
        T::exit(net, data);
    }
}

impl Net {
    /// Whether `a` is one of this namespace's local addresses.
    pub(crate) fn is_local(&self, a: Addr) -> bool {
        match a {
            Addr::V4(b) => {
                // SAFETY: valid namespace; the address is passed in network order, as the
                // bytes are.
                let t = unsafe { bindings::inet_addr_type(self.as_ptr(), u32::from_ne_bytes(b)) };
                t == bindings::RTN_LOCAL
            }
            Addr::V6(b) => {
                // Booted with ipv6.disable=1: no IPv6 address or route tables at all
                // (both lookups below would dereference them), so nothing is local.
                // SAFETY: no requirement.
                if !unsafe { bindings::ipv6_mod_enabled() } {
                    return false;
                }
                // SAFETY: `in6_addr` is 16 bytes of address in network order.
                let addr: bindings::in6_addr =
                    unsafe { core::mem::transmute::<[u8; 16], bindings::in6_addr>(b) };
                // SAFETY: valid namespace and address; no device restriction.
                if unsafe { bindings::ipv6_chk_addr(self.as_ptr(), &addr, core::ptr::null(), 0) }
                    != 0
                {
                    return true;
                }
                // Not an interface address, but maybe delivered locally all the same: a
                // local route (AnyIP, `ip -6 route add local PREFIX dev lo`), as
                // inet_addr_type() sees for IPv4.
                // SAFETY: valid namespace and address; no source, device or packet; the
                // lookup takes the RCU read lock it needs and returns a held route or null.
                let rt = unsafe {
                    bindings::rt6_lookup(
                        self.as_ptr(),
                        &addr,
                        core::ptr::null(),
                        0,
                        core::ptr::null(),
                        0,
                    )
                };
                if rt.is_null() {
                    return false;
                }
                let local = bindings::RTF_LOCAL | bindings::RTF_ANYCAST;
                // SAFETY: `rt` is a held route; its reference is dropped once read.
                unsafe {
                    let is_local = (*rt).rt6i_flags & local != 0;
                    bindings::dst_release(core::ptr::addr_of_mut!((*rt).dst));
                    is_local
                }
            }
        }
    }
}

/// A namespace remembered by an object that the namespace's pernet exit destroys (the
/// proxy's runtime): valid for that object's whole life.
///
/// # Invariants
///
/// The pointer is to a live `struct net` for as long as any copy of this value is used:
/// only the proxy runtime holds it, and the runtime is shut down (its sockets released,
/// its work items flushed) in the namespace's pernet exit, before the namespace is freed.
#[derive(Clone, Copy)]
pub(crate) struct NetHandle(*mut bindings::net);

// SAFETY: a namespace pointer may be used from any thread while the namespace lives.
unsafe impl Send for NetHandle {}
// SAFETY: see `Send`.
unsafe impl Sync for NetHandle {}

impl NetHandle {
    /// Remembers `net` (see the type invariants for who may).
    pub(crate) fn new(net: &Net) -> Self {
        NetHandle(net.as_ptr())
    }

    /// The namespace.
    pub(crate) fn get(&self) -> &Net {
        // SAFETY: alive per the type invariants.
        unsafe { Net::from_raw(self.0) }
    }
}
