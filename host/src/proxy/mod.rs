// SPDX-License-Identifier: GPL-2.0

//! `rust/proxy/`: the option codec, the policy, the gate, SYN tagging, the pending table,
//! the counters and the sysctl table.

#[path = "../../../rust/proxy/option.rs"]
pub mod option;

#[path = "../../../rust/proxy/policy.rs"]
pub mod policy;

#[path = "../../../rust/proxy/gate.rs"]
pub mod gate;

#[path = "../../../rust/proxy/tag.rs"]
pub mod tag;

#[path = "../../../rust/proxy/pending.rs"]
pub mod pending;

#[path = "../../../rust/proxy/stats.rs"]
pub mod stats;

#[path = "../../../rust/proxy/config.rs"]
pub mod config;
