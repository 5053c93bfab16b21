// SPDX-License-Identifier: GPL-2.0

//! The bounded table of pending targets.

use mptcp_proxy_host::inet::addr::Addr;
use mptcp_proxy_host::proxy::option::Target;
use mptcp_proxy_host::proxy::pending::*;

fn k(i: u16) -> Key {
    Key {
        addr: Addr::V4([10, 0, 0, 1]),
        port: i,
    }
}
const T: Target = Target::V4 {
    addr: [203, 0, 113, 9],
    port: 80,
};
const U: Target = Target::V4 {
    addr: [203, 0, 113, 10],
    port: 443,
};

#[test]
fn insert_take_refresh_expire() {
    let mut p = Pending::new(vec![None; 4], 1000);
    assert_eq!(p.insert(k(1), T, 0), Inserted::New);
    assert_eq!(p.insert(k(1), U, 10), Inserted::Refreshed);
    assert_eq!(p.take(k(1), 20), Some(U));
    assert_eq!(p.take(k(1), 20), None);
    assert_eq!(p.insert(k(2), T, 0), Inserted::New);
    assert_eq!(p.take(k(2), 2000), None, "expired");
    assert_eq!(p.take(k(3), 0), None);
}

#[test]
fn a_flood_never_grows_the_table() {
    let mut p = Pending::new(vec![None; 8], 1000);
    let mut evicted = 0;
    for i in 0..10_000u16 {
        if p.insert(k(i), T, 5) == Inserted::Evicted {
            evicted += 1;
        }
        assert!(p.len(5) <= 8);
    }
    assert_eq!(evicted, 10_000 - 8);
    // The last 8 are there, the first are gone.
    assert_eq!(p.take(k(9_999), 5), Some(T));
    assert_eq!(p.take(k(0), 5), None);
    // Expired slots are reused without counting an eviction.
    let mut q = Pending::new(vec![None; 2], 10);
    q.insert(k(1), T, 0);
    q.insert(k(2), T, 0);
    assert_eq!(q.insert(k(3), T, 100), Inserted::New);
}
