// SPDX-License-Identifier: GPL-2.0

//! Numbers written as text: sysctl values, prefix lengths, ports.
//!
//! Pure: no kernel imports; `host/` builds this file too. One decimal parser for the
//! whole module, and one that also takes `0x` hexadecimal on top of it, as the kernel's
//! own integer sysctls do.

/// Most digits of a `u32` in decimal.
const MAX_DIGITS: usize = 10;

/// Parses a decimal number: ASCII digits only (no sign, no spaces), at most ten, and no
/// more than `u32::MAX`.
pub fn dec(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > MAX_DIGITS {
        return None;
    }
    s.bytes().try_fold(0u32, |v, b| {
        let d = (b as char).to_digit(10)?;
        v.checked_mul(10)?.checked_add(d)
    })
}

/// Parses a decimal number, or a hexadecimal one (at most eight digits) after `0x` or
/// `0X`.
pub fn number(s: &str) -> Option<u32> {
    let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) else {
        return dec(s);
    };
    if hex.is_empty() || hex.len() > 8 {
        return None;
    }
    hex.bytes()
        .try_fold(0u32, |v, b| Some((v << 4) | (b as char).to_digit(16)?))
}
