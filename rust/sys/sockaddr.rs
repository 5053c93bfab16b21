// SPDX-License-Identifier: GPL-2.0

//! Socket addresses (`sockaddr_in`, `sockaddr_in6`) to and from [`Addr`] and a port.
//!
//! C header: [`include/uapi/linux/in6.h`](srctree/include/uapi/linux/in6.h)

use core::ptr;
use kernel::bindings;

use crate::inet::addr::Addr;

/// `addr` and `port` as a socket address of the family of the socket (`as_v6`: IPv6;
/// an IPv4 address is then IPv4-mapped), and its length.
pub(super) fn sockaddr(
    addr: Addr,
    port: u16,
    as_v6: bool,
) -> (bindings::__kernel_sockaddr_storage, i32) {
    let mut ss = bindings::__kernel_sockaddr_storage::default();
    let p = ptr::addr_of_mut!(ss);
    match (addr, as_v6) {
        (Addr::V4(a), false) => {
            let sin = bindings::sockaddr_in {
                sin_family: bindings::AF_INET as u16,
                sin_port: port.to_be(),
                sin_addr: bindings::in_addr {
                    s_addr: u32::from_ne_bytes(a),
                },
                ..Default::default()
            };
            // SAFETY: `sockaddr_storage` is larger than `sockaddr_in` and suitably aligned.
            unsafe { p.cast::<bindings::sockaddr_in>().write(sin) };
            (ss, core::mem::size_of::<bindings::sockaddr_in>() as i32)
        }
        (a, _) => {
            // An IPv4 address is IPv4-mapped for an IPv6 socket.
            let b = a.to_v6();
            let sin6 = bindings::sockaddr_in6 {
                sin6_family: bindings::AF_INET6 as u16,
                sin6_port: port.to_be(),
                // SAFETY: `in6_addr` is the 16 address bytes in network order.
                sin6_addr: unsafe { core::mem::transmute::<[u8; 16], bindings::in6_addr>(b) },
                ..Default::default()
            };
            // SAFETY: `sockaddr_storage` is larger than `sockaddr_in6` and suitably aligned.
            unsafe { p.cast::<bindings::sockaddr_in6>().write(sin6) };
            (ss, core::mem::size_of::<bindings::sockaddr_in6>() as i32)
        }
    }
}

/// The address (IPv4-mapped as IPv4) and port of a socket address, if IPv4 or IPv6.
pub(super) fn parse_sockaddr(ss: &bindings::__kernel_sockaddr_storage) -> Option<(Addr, u16)> {
    let p = ptr::addr_of!(*ss);
    // SAFETY: the family field starts every sockaddr; we read the structure it announces,
    // which fits in the storage.
    unsafe {
        match (*p.cast::<bindings::sockaddr>()).sa_family as u32 {
            bindings::AF_INET => {
                let sin = p.cast::<bindings::sockaddr_in>().read();
                Some((
                    Addr::V4(sin.sin_addr.s_addr.to_ne_bytes()),
                    u16::from_be(sin.sin_port),
                ))
            }
            bindings::AF_INET6 => {
                let sin6 = p.cast::<bindings::sockaddr_in6>().read();
                let b = core::mem::transmute::<bindings::in6_addr, [u8; 16]>(sin6.sin6_addr);
                Some((Addr::V6(b).unmapped(), u16::from_be(sin6.sin6_port)))
            }
            _ => None,
        }
    }
}
