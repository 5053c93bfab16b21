// SPDX-License-Identifier: GPL-2.0

//! The module's pure logic, built on the host. Each `#[path]` names a file that is also
//! compiled into `mptcp_proxy.ko`; those files use `core` only.

#![no_std]

#[macro_use]
#[path = "../../rust/counters.rs"]
mod counters;

pub mod inet;
pub mod lia;
pub mod proxy;
