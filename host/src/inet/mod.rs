// SPDX-License-Identifier: GPL-2.0

//! `rust/inet/`: addresses, numbers as text, checksums, SYNs in IP packets.

#[path = "../../../rust/inet/addr.rs"]
pub mod addr;

#[path = "../../../rust/inet/num.rs"]
pub mod num;

#[path = "../../../rust/inet/csum.rs"]
pub mod csum;

#[path = "../../../rust/inet/syn.rs"]
pub mod syn;
