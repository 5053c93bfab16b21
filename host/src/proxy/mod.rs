// SPDX-License-Identifier: GPL-2.0

//! `rust/proxy/`: the proxy-target option codec and the access policy.

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
