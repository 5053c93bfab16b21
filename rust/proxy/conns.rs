// SPDX-License-Identifier: GPL-2.0

//! The table of a runtime's connections, with their count per client (`max_conns`,
//! `max_conns_per_client`) and the list of those draining.

use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::Arc;

use super::conn::Conn;
use super::stats::Stat;
use crate::inet::addr::Addr;

/// The connections of a runtime.
pub(super) struct Conns {
    pub(super) tree: RBTree<usize, Arc<Conn>>,
    pub(super) count: usize,
    /// Connections per client address (IPv4 as IPv4-mapped), for those that have any.
    pub(super) per_client: RBTree<u128, usize>,
    /// The connections of `tree` that are draining: the only ones the drain poll visits.
    pub(super) draining: RBTree<usize, Arc<Conn>>,
}

/// The key of a client address in [`Conns::per_client`]: the address, or an IPv6
/// address's /64.
fn client_key(a: Addr) -> u128 {
    u128::from_be_bytes(a.client_group().to_v6())
}

impl Conns {
    /// Counts a connection of `client` in; the counter of the refusal (and nothing
    /// counted) if that is one too many, or memory is short.
    pub(super) fn admit(
        &mut self,
        client: Addr,
        max: usize,
        max_per_client: usize,
    ) -> Result<(), Stat> {
        if self.count >= max {
            return Err(Stat::RefusedTooMany);
        }
        let key = client_key(client);
        match self.per_client.get_mut(&key) {
            Some(n) if max_per_client != 0 && *n >= max_per_client => {
                return Err(Stat::RefusedClientTooMany)
            }
            Some(n) => *n += 1,
            None => {
                // The only allocation: a client's first connection.
                if self
                    .per_client
                    .try_create_and_insert(key, 1, GFP_KERNEL)
                    .is_err()
                {
                    return Err(Stat::RefusedTooMany);
                }
            }
        }
        self.count += 1;
        Ok(())
    }

    /// Counts a connection of `client` out.
    pub(super) fn release(&mut self, client: Addr) {
        self.count = self.count.saturating_sub(1);
        let key = client_key(client);
        // No allocation here: a release cannot fail.
        let last = match self.per_client.get_mut(&key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => true,
            None => false,
        };
        if last {
            self.per_client.remove(&key);
        }
    }
}
