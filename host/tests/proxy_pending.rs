// SPDX-License-Identifier: GPL-2.0

//! The bounded table of pending targets: keyed by the 4-tuple, never overwriting, with a
//! quota per client.

use mptcp_proxy_host::inet::addr::Addr;
use mptcp_proxy_host::proxy::option::Target;
use mptcp_proxy_host::proxy::pending::*;

const PROXY: Addr = Addr::V4([10, 0, 0, 1]);

fn k(client: u8, port: u16) -> Key {
    Key {
        saddr: Addr::V4([10, 1, 0, client]),
        sport: port,
        daddr: PROXY,
        dport: 1080,
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

type Table = Pending<Vec<Option<Entry>>, Vec<Option<Count>>>;

fn table(slots: usize, quota: u32) -> Table {
    Pending::new(
        vec![None; slots],
        vec![None; slots / 4],
        [7, 11],
        1000,
        quota,
    )
}

#[test]
fn insert_take_refresh_expire() {
    let mut p = table(64, 16);
    assert_eq!(p.insert(k(1, 1), T, 0), Inserted::New);
    assert_eq!(p.insert(k(1, 1), T, 10), Inserted::Refreshed);
    assert_eq!(p.take(k(1, 1), 20), Some(T));
    assert_eq!(p.take(k(1, 1), 20), None);
    assert_eq!(p.insert(k(1, 2), T, 0), Inserted::New);
    assert_eq!(p.take(k(1, 2), 2000), None, "expired");
    assert_eq!(p.take(k(1, 3), 0), None);
    // The whole 4-tuple is the key: another proxy address or port is another entry.
    let other = Key {
        daddr: Addr::V4([10, 0, 0, 2]),
        ..k(1, 4)
    };
    assert_eq!(p.insert(k(1, 4), T, 0), Inserted::New);
    assert_eq!(p.insert(other, U, 0), Inserted::New);
    assert_eq!(p.take(other, 1), Some(U));
    assert_eq!(p.take(k(1, 4), 1), Some(T));
    assert_eq!(p.live(1), 0);
}

#[test]
fn a_conflicting_second_syn_drops_the_entry() {
    let mut p = table(64, 16);
    assert_eq!(p.insert(k(1, 1), T, 0), Inserted::New);
    assert_eq!(p.insert(k(1, 1), U, 5), Inserted::Conflict);
    assert_eq!(p.take(k(1, 1), 6), None, "neither target is kept");
    // Afterwards the key can be used again.
    assert_eq!(p.insert(k(1, 1), U, 7), Inserted::New);
    assert_eq!(p.take(k(1, 1), 8), Some(U));
}

#[test]
fn a_flood_from_one_client_leaves_the_others_alone() {
    let mut p = table(1024, 128);
    // Other clients' SYNs first.
    for c in 2..=40 {
        for port in 0..4 {
            assert_eq!(p.insert(k(c, port), T, 0), Inserted::New, "client {c}");
        }
    }
    // One client floods with thousands of SYNs: it gets its quota, never more, and no
    // one else's entry goes.
    let mut got = 0;
    for port in 0..4000 {
        match p.insert(k(1, port), U, 1) {
            Inserted::New => got += 1,
            Inserted::ClientQuota | Inserted::Full => {}
            other => panic!("{other:?}"),
        }
        assert!(p.live(1) <= 1024);
    }
    assert!(got <= 128, "{got}");
    assert!(got >= 100, "the quota is reachable ({got})");
    for c in 2..=40 {
        for port in 0..4 {
            assert_eq!(p.take(k(c, port), 2), Some(T), "client {c} port {port}");
        }
    }
    // Once the flood's entries are dead, the client has its quota back.
    assert_eq!(p.insert(k(1, 9999), U, 5000), Inserted::New);
}

#[test]
fn a_full_table_refuses_rather_than_evicts() {
    let mut p = table(64, 1000);
    let mut placed = Vec::new();
    for i in 0..1000u16 {
        if p.insert(k((i % 200) as u8, i), T, 0) == Inserted::New {
            placed.push(k((i % 200) as u8, i));
        }
    }
    assert!(placed.len() <= 64);
    assert!(
        placed.len() >= 32,
        "most of the table is used ({})",
        placed.len()
    );
    for key in &placed {
        assert_eq!(p.take(*key, 1), Some(T));
    }
    // Dead entries are swept when room runs out.
    let mut q = table(8, 1000);
    for i in 0..8 {
        q.insert(k(1, i), T, 0);
    }
    assert_eq!(q.insert(k(2, 100), T, 5000), Inserted::New);
}

#[test]
fn the_hash_is_keyed() {
    // Keys spread evenly over the buckets, and another secret spreads them otherwise: a
    // client that learned where its keys went under one key learns nothing of another.
    let a: Table = table(1024, 1000);
    let b: Table = Pending::new(vec![None; 1024], vec![None; 256], [8, 11], 1000, 1000);
    let keys: Vec<Key> = (0..4096).map(|port| k(1, port)).collect();
    let mut load = vec![0u32; 1024 / WAYS];
    let mut same = 0;
    for key in &keys {
        load[a.entry_bucket(key) / WAYS] += 1;
        if a.entry_bucket(key) == b.entry_bucket(key) {
            same += 1;
        }
    }
    // 4096 keys over 128 buckets: 32 each on average.
    let max = *load.iter().max().unwrap();
    let min = *load.iter().min().unwrap();
    assert!(max < 64 && min > 8, "uneven: {min}..{max}");
    // By chance 1 in 128 (32 of 4096) lands in the same bucket under both keys.
    assert!(
        same < 100,
        "{same} keys in the same bucket under both secrets"
    );
}

#[test]
fn an_ipv6_slash64_is_one_client() {
    let mut p = table(1024, 4);
    let v6 = |last: u8, sub: u8| Key {
        saddr: Addr::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, sub, 0, 0, 0, 0, 0, 0, 1, last]),
        sport: 1000 + last as u16,
        daddr: PROXY,
        dport: 1080,
    };
    // Four addresses of one /64 use its quota; a fifth is over it; another /64 is not.
    for i in 0..4 {
        assert_eq!(p.insert(v6(i, 1), T, 0), Inserted::New);
    }
    assert_eq!(p.insert(v6(9, 1), T, 0), Inserted::ClientQuota);
    assert_eq!(p.insert(v6(9, 2), T, 0), Inserted::New);
}
