// SPDX-License-Identifier: GPL-2.0

//! `rust/lia/`: the RFC 6356 arithmetic and the per-connection coupling state.

#[path = "../../../rust/lia/math.rs"]
pub mod math;

#[path = "../../../rust/lia/coupling.rs"]
pub mod coupling;

#[path = "../../../rust/lia/olia.rs"]
pub mod olia;

#[path = "../../../rust/lia/hystart.rs"]
pub mod hystart;
