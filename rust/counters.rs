// SPDX-License-Identifier: GPL-2.0

//! Declares a set of MIB-style counters once: the enum that indexes them, how many there
//! are and the names `/proc/net/*_stat` shows, all from one table.
//!
//! Pure: no kernel imports; `host/` builds this file too.

/// `counters! { pub enum Stat { Foo = "PartFoo", ... } }` declares `enum Stat` with one
/// variant per line (`#[repr(usize)]`, in table order), `Stat::ALL` (every variant, in
/// order), `Stat::COUNT` and `Stat::name()`.
macro_rules! counters {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        $vis enum $name {
            $( $(#[$vmeta])* $var, )*
        }

        #[allow(dead_code)]
        impl $name {
            /// Every counter, in `/proc` order.
            $vis const ALL: &'static [$name] = &[$($name::$var),*];
            /// Number of counters.
            $vis const COUNT: usize = Self::ALL.len();

            /// The counter's name in `/proc`.
            $vis const fn name(self) -> &'static str {
                match self {
                    $($name::$var => $text,)*
                }
            }
        }
    };
}
