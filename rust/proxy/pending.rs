// SPDX-License-Identifier: GPL-2.0

//! The targets of SYNs that passed the gate, until the listener accepts their connection.
//!
//! Pure: no kernel imports; `host/` builds this file too.
//!
//! The gate sees the SYN (softirq), the listener later sees an accepted connection
//! (process context); the client's address and port tie the two. The table is a ring of
//! fixed size: a flood of SYNs carrying options can only overwrite older entries, never
//! grow memory, and a connection whose entry was overwritten or expired is reset at
//! accept time (counted). A retransmitted SYN refreshes its entry; SYN cookies need
//! nothing more, since the entry is keyed by the client's address and port, not by a
//! request socket.

use super::option::Target;
use crate::inet::addr::Addr;

/// A client's address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub addr: Addr,
    pub port: u16,
}

/// A remembered target.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    key: Key,
    target: Target,
    at_ms: u64,
}

/// What an insertion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A new entry in a free or expired slot.
    New,
    /// The key was there (a retransmitted SYN): target and time updated.
    Refreshed,
    /// A live entry was overwritten (the table is full).
    Evicted,
}

/// A ring of pending targets over the storage `S` (a slice of slots, all `None` at
/// first, allocated by the caller: in the kernel it is too large for the stack); entries
/// older than `max_age_ms` are dead.
pub struct Pending<S: core::ops::DerefMut<Target = [Option<Entry>]>> {
    slots: S,
    next: usize,
    max_age_ms: u64,
}

impl<S: core::ops::DerefMut<Target = [Option<Entry>]>> Pending<S> {
    pub fn new(slots: S, max_age_ms: u64) -> Self {
        Pending {
            slots,
            next: 0,
            max_age_ms,
        }
    }

    fn alive(&self, e: &Entry, now_ms: u64) -> bool {
        now_ms.saturating_sub(e.at_ms) <= self.max_age_ms
    }

    /// Records `target` for `key`.
    pub fn insert(&mut self, key: Key, target: Target, now_ms: u64) -> Inserted {
        if let Some(e) = self.slots.iter_mut().flatten().find(|e| e.key == key) {
            e.target = target;
            e.at_ms = now_ms;
            return Inserted::Refreshed;
        }
        let n = self.slots.len();
        if n == 0 {
            return Inserted::Evicted;
        }
        let i = self.next % n;
        self.next = (i + 1) % n;
        let was = match &self.slots[i] {
            Some(e) if self.alive(e, now_ms) => Inserted::Evicted,
            _ => Inserted::New,
        };
        self.slots[i] = Some(Entry {
            key,
            target,
            at_ms: now_ms,
        });
        was
    }

    /// Removes and returns the live target of `key`.
    pub fn take(&mut self, key: Key, now_ms: u64) -> Option<Target> {
        let max = self.max_age_ms;
        let slot = self
            .slots
            .iter_mut()
            .find(|s| matches!(s, Some(e) if e.key == key))?;
        let e = slot.take()?;
        (now_ms.saturating_sub(e.at_ms) <= max).then_some(e.target)
    }

    /// Live entries.
    pub fn len(&self, now_ms: u64) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|e| self.alive(e, now_ms))
            .count()
    }
}
