// SPDX-License-Identifier: GPL-2.0

//! The targets of SYNs that passed the gate, until the listener accepts their connection.
//!
//! Pure: no kernel imports; `host/` builds this file too.
//!
//! The gate sees the SYN (softirq), the listener later sees an accepted connection
//! (process context); the connection's addresses and ports tie the two. A retransmitted
//! SYN, or a connection completed by a SYN cookie, has the same four, so both need
//! nothing more.
//!
//! The table has a fixed size and never overwrites a live entry: a flood of SYNs with
//! options cannot grow memory nor push out another client's target. It is a hash table
//! of [`WAYS`]-slot buckets, with a hash keyed by a secret random key (SipHash-1-3), so
//! a client cannot aim at one bucket; an insert or a lookup reads one bucket. Each
//! client (an IPv4 address, or an IPv6 /64: one host has many IPv6 addresses) holds at
//! most a quota of entries, counted in a second table as large as the first, so that
//! counts never run out before entries do. Entries older than the maximum age are dead and their slots reused. When a
//! SYN finds no room (its bucket full, or its client at its quota), the table is swept
//! of dead entries once (at most every [`SWEEP_MS`]) and the SYN is refused if there is
//! still none. A second SYN with the same addresses and ports but another target is a
//! conflict: the entry is dropped (the connection, if it comes, is reset), since no one
//! can tell which SYN is the client's.

use super::option::Target;
use crate::inet::addr::Addr;

/// Slots per bucket.
pub const WAYS: usize = 8;
/// Least time between two sweeps of the whole table, ms.
pub const SWEEP_MS: u64 = 100;

/// A connection's addresses and ports, as the SYN had them (IPv4-mapped IPv6 addresses
/// as IPv4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The client.
    pub saddr: Addr,
    pub sport: u16,
    /// The proxy address and port the client reached.
    pub daddr: Addr,
    pub dport: u16,
}

/// A remembered target.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    key: Key,
    target: Target,
    at_ms: u64,
}

/// How many entries a client address holds.
#[derive(Clone, Copy, Debug)]
pub struct Count {
    addr: Addr,
    n: u32,
}

/// What an insertion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A new entry.
    New,
    /// The same SYN again (a retransmission): its time refreshed.
    Refreshed,
    /// The key was there with another target: both are dropped.
    Conflict,
    /// No room in the key's bucket (or for its client's count).
    Full,
    /// The client holds its quota of entries already.
    ClientQuota,
}

/// A pending-target table over the storages `S` (the entries) and `C` (the per-client
/// counts), slices whose lengths are multiples of [`WAYS`], all `None` at first,
/// allocated by the caller (in the kernel they are too large for the stack).
pub struct Pending<S, C>
where
    S: core::ops::DerefMut<Target = [Option<Entry>]>,
    C: core::ops::DerefMut<Target = [Option<Count>]>,
{
    slots: S,
    counts: C,
    key: [u64; 2],
    max_age_ms: u64,
    quota: u32,
    swept_ms: Option<u64>,
}

/// SipHash-1-3 of `words` (each a whole 8-byte message block) under `key`.
fn siphash13(key: [u64; 2], words: &[u64]) -> u64 {
    let mut v = [
        key[0] ^ 0x736f_6d65_7073_6575,
        key[1] ^ 0x646f_7261_6e64_6f6d,
        key[0] ^ 0x6c79_6765_6e65_7261,
        key[1] ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    for &m in words {
        v[3] ^= m;
        round(&mut v);
        v[0] ^= m;
    }
    // The final block: the length in bytes in the top byte, no tail bytes.
    let b = ((words.len() as u64 * 8) & 0xff) << 56;
    v[3] ^= b;
    round(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    round(&mut v);
    round(&mut v);
    round(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// An address as two words (IPv4 as IPv4-mapped).
fn words(a: Addr) -> [u64; 2] {
    let b = a.to_v6();
    let mut w = [0u64; 2];
    for (i, x) in w.iter_mut().enumerate() {
        let mut c = [0u8; 8];
        c.copy_from_slice(&b[8 * i..8 * i + 8]);
        *x = u64::from_be_bytes(c);
    }
    w
}

impl<S, C> Pending<S, C>
where
    S: core::ops::DerefMut<Target = [Option<Entry>]>,
    C: core::ops::DerefMut<Target = [Option<Count>]>,
{
    /// A table over `slots` and `counts`, hashed with the secret `key`; entries older than
    /// `max_age_ms` are dead; a client address holds at most `quota` entries.
    pub fn new(slots: S, counts: C, key: [u64; 2], max_age_ms: u64, quota: u32) -> Self {
        Pending {
            slots,
            counts,
            key,
            max_age_ms,
            quota,
            swept_ms: None,
        }
    }

    fn alive(&self, at_ms: u64, now_ms: u64) -> bool {
        now_ms.saturating_sub(at_ms) <= self.max_age_ms
    }

    /// The first slot of the bucket of `words` in a table of `len` slots.
    fn bucket(&self, words: &[u64], len: usize) -> usize {
        let buckets = len / WAYS;
        if buckets == 0 {
            return 0;
        }
        (siphash13(self.key, words) % buckets as u64) as usize * WAYS
    }

    /// The first slot of the bucket of `k` (for tests and diagnostics).
    pub fn entry_bucket(&self, k: &Key) -> usize {
        let [s0, s1] = words(k.saddr);
        let [d0, d1] = words(k.daddr);
        let ports = (k.sport as u64) << 16 | k.dport as u64;
        self.bucket(&[s0, s1, d0, d1, ports], self.slots.len())
    }

    fn count_bucket(&self, a: Addr) -> usize {
        self.bucket(&words(a), self.counts.len())
    }

    /// The range of a bucket of `len` slots starting at `b`.
    fn ways(b: usize, len: usize) -> core::ops::Range<usize> {
        b..(b + WAYS).min(len)
    }

    /// Changes the count of `addr`'s group (see [`Addr::client_group`]) by one (`up`),
    /// creating or freeing its slot; `false` if there is no room for a new count.
    fn adjust(&mut self, addr: Addr, up: bool) -> bool {
        let addr = addr.client_group();
        let r = Self::ways(self.count_bucket(addr), self.counts.len());
        let at = r
            .clone()
            .find(|&i| matches!(self.counts[i], Some(c) if c.addr == addr));
        if let Some(i) = at {
            let zero = match self.counts[i].as_mut() {
                Some(c) => {
                    c.n = if up { c.n + 1 } else { c.n.saturating_sub(1) };
                    c.n == 0
                }
                None => false,
            };
            if zero {
                self.counts[i] = None;
            }
            return true;
        }
        if !up {
            return true;
        }
        match r.into_iter().find(|&i| self.counts[i].is_none()) {
            Some(i) => {
                self.counts[i] = Some(Count { addr, n: 1 });
                true
            }
            None => false,
        }
    }

    fn count_of(&self, addr: Addr) -> u32 {
        let addr = addr.client_group();
        let r = Self::ways(self.count_bucket(addr), self.counts.len());
        self.counts[r]
            .iter()
            .flatten()
            .find(|c| c.addr == addr)
            .map_or(0, |c| c.n)
    }

    /// Empties slot `i`, counting its client out.
    fn free(&mut self, i: usize) {
        if let Some(e) = self.slots[i].take() {
            self.adjust(e.key.saddr, false);
        }
    }

    /// Frees every dead entry, if the last sweep is [`SWEEP_MS`] old; `true` if it swept.
    fn sweep(&mut self, now_ms: u64) -> bool {
        if matches!(self.swept_ms, Some(t) if now_ms.saturating_sub(t) < SWEEP_MS) {
            return false;
        }
        self.swept_ms = Some(now_ms);
        for i in 0..self.slots.len() {
            if matches!(self.slots[i], Some(e) if !self.alive(e.at_ms, now_ms)) {
                self.free(i);
            }
        }
        true
    }

    /// Tries to place a new entry: `Err` says why not.
    fn place(&mut self, key: Key, target: Target, now_ms: u64) -> Result<(), Inserted> {
        if self.count_of(key.saddr) >= self.quota {
            return Err(Inserted::ClientQuota);
        }
        let r = Self::ways(self.entry_bucket(&key), self.slots.len());
        let mut free = None;
        for i in r {
            match self.slots[i] {
                None => {
                    free = Some(i);
                    break;
                }
                Some(e) if !self.alive(e.at_ms, now_ms) => {
                    self.free(i);
                    free = Some(i);
                    break;
                }
                Some(_) => {}
            }
        }
        let i = free.ok_or(Inserted::Full)?;
        if !self.adjust(key.saddr, true) {
            return Err(Inserted::Full);
        }
        self.slots[i] = Some(Entry {
            key,
            target,
            at_ms: now_ms,
        });
        Ok(())
    }

    /// Records `target` for `key`.
    pub fn insert(&mut self, key: Key, target: Target, now_ms: u64) -> Inserted {
        let r = Self::ways(self.entry_bucket(&key), self.slots.len());
        if let Some(i) = r
            .clone()
            .find(|&i| matches!(self.slots[i], Some(e) if e.key == key))
        {
            match self.slots[i] {
                Some(e) if self.alive(e.at_ms, now_ms) => {
                    if e.target == target {
                        self.slots[i] = Some(Entry { at_ms: now_ms, ..e });
                        return Inserted::Refreshed;
                    }
                    self.free(i);
                    return Inserted::Conflict;
                }
                _ => self.free(i),
            }
        }
        match self.place(key, target, now_ms) {
            Ok(()) => Inserted::New,
            Err(why) => {
                // Dead entries may be what takes the room: sweep them, try once more.
                if self.sweep(now_ms) {
                    match self.place(key, target, now_ms) {
                        Ok(()) => Inserted::New,
                        Err(why) => why,
                    }
                } else {
                    why
                }
            }
        }
    }

    /// Removes and returns the live target of `key`.
    pub fn take(&mut self, key: Key, now_ms: u64) -> Option<Target> {
        let r = Self::ways(self.entry_bucket(&key), self.slots.len());
        let i = r
            .clone()
            .find(|&i| matches!(self.slots[i], Some(e) if e.key == key))?;
        let e = self.slots[i]?;
        self.free(i);
        self.alive(e.at_ms, now_ms).then_some(e.target)
    }

    /// Live entries (reads the whole table: for `/proc`, not for the packet path).
    pub fn live(&self, now_ms: u64) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|e| self.alive(e.at_ms, now_ms))
            .count()
    }
}
