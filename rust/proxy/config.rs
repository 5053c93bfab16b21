// SPDX-License-Identifier: GPL-2.0

//! A namespace's proxy configuration, and the table of the `net.mptcp_proxy.*` sysctls
//! that set it: each entry's name, how its value is parsed and shown, and its bounds.
//!
//! Pure: no kernel imports; `host/` builds this file too. `Documentation/proxy-admin.rst`
//! describes each sysctl.

use core::fmt::{self, Write};

use super::policy::{List, PortRange};
use crate::inet::addr::Prefix;
use crate::inet::num;

/// Most entries in an address list.
pub const MAX_PREFIXES: usize = 32;
/// Most entries in a port list.
pub const MAX_PORT_RANGES: usize = 16;
/// Longest text of a list sysctl.
pub const MAX_LIST_TEXT: usize = 256;
/// Default `max_conns`.
pub const MAX_CONNS: u32 = 1024;
/// Default `max_conns_per_client`: a quarter of the default `max_conns`, so no single
/// client address holds every slot.
pub const MAX_CONNS_PER_CLIENT: u32 = 256;
/// Default `connect_syn_retries`: one, so a connect to a silent target fails after
/// about 3 s (1 s + 2 s).
pub const UPSTREAM_SYN_RETRIES: u32 = 1;
/// Default `idle_timeout`, seconds.
pub const IDLE_TIMEOUT_S: u32 = 600;

/// A value a sysctl refuses (the writer gets `EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

/// A list sysctl: its parsed items and the text it was given (shown back as written).
#[derive(Clone, Copy, Debug)]
pub struct TextList<T: Copy + Default, const N: usize> {
    list: List<T, N>,
    text: [u8; MAX_LIST_TEXT],
    text_len: usize,
}

impl<T: Copy + Default, const N: usize> TextList<T, N> {
    fn empty() -> Self {
        TextList {
            list: List::default(),
            text: [0; MAX_LIST_TEXT],
            text_len: 0,
        }
    }

    fn parse(text: &str, item: impl Fn(&str) -> Option<T>) -> Result<Self, Invalid> {
        if text.len() > MAX_LIST_TEXT {
            return Err(Invalid);
        }
        let list = List::parse(text, item).map_err(|_| Invalid)?;
        let mut t = [0u8; MAX_LIST_TEXT];
        t[..text.len()].copy_from_slice(text.as_bytes());
        Ok(TextList {
            list,
            text: t,
            text_len: text.len(),
        })
    }

    /// The items.
    pub fn items(&self) -> &[T] {
        self.list.as_slice()
    }

    /// The text the list was set from.
    pub fn text(&self) -> &str {
        core::str::from_utf8(&self.text[..self.text_len]).unwrap_or("")
    }
}

/// A namespace's proxy configuration; replaced as a whole on every sysctl write.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The proxy port; 0: the proxy is off.
    pub port: u16,
    /// Client side: the conntrack mark of connections to send through a proxy; 0: off.
    pub client_ct_mark: u32,
    /// Most proxied connections at once.
    pub max_conns: u32,
    /// Most proxied connections of one client address at once; 0: no limit.
    pub max_conns_per_client: u32,
    /// SYN retransmissions of an upstream connect (its timeout).
    pub syn_retries: u32,
    /// Idle timeout, seconds; 0: none.
    pub idle_s: u32,
    pub clients: TextList<Prefix, MAX_PREFIXES>,
    pub targets: TextList<Prefix, MAX_PREFIXES>,
    pub ports: TextList<PortRange, MAX_PORT_RANGES>,
}

impl Default for Config {
    /// The configuration of a new namespace: the proxy off, every list empty (nothing
    /// allowed), default limits.
    fn default() -> Self {
        Config {
            port: 0,
            client_ct_mark: 0,
            max_conns: MAX_CONNS,
            max_conns_per_client: MAX_CONNS_PER_CLIENT,
            syn_retries: UPSTREAM_SYN_RETRIES,
            idle_s: IDLE_TIMEOUT_S,
            clients: TextList::empty(),
            targets: TextList::empty(),
            ports: TextList::empty(),
        }
    }
}

/// How a sysctl's value is read and written.
enum Value {
    /// An integer within `min..=max`, written in decimal or `0x` hexadecimal.
    Number {
        get: fn(&Config) -> u32,
        set: fn(&mut Config, u32),
        min: u32,
        max: u32,
        /// Shown in hexadecimal (a mark).
        show_hex: bool,
    },
    /// A list, shown as it was written.
    List {
        text: fn(&Config) -> &str,
        set: fn(&mut Config, &str) -> Result<(), Invalid>,
    },
}

/// One sysctl of `net.mptcp_proxy`.
pub struct Sysctl {
    /// Its name, NUL-terminated (the kernel's table takes C strings).
    pub name: &'static str,
    value: Value,
}

/// The sysctls of `net.mptcp_proxy`, in registration order.
pub const SYSCTLS: [Sysctl; 9] = [
    Sysctl {
        name: "port\0",
        value: Value::Number {
            get: |c| c.port as u32,
            set: |c, v| c.port = v as u16,
            min: 0,
            max: u16::MAX as u32,
            show_hex: false,
        },
    },
    Sysctl {
        name: "allowed_clients\0",
        value: Value::List {
            text: |c| c.clients.text(),
            set: |c, t| {
                c.clients = TextList::parse(t, Prefix::parse)?;
                Ok(())
            },
        },
    },
    Sysctl {
        name: "allowed_targets\0",
        value: Value::List {
            text: |c| c.targets.text(),
            set: |c, t| {
                c.targets = TextList::parse(t, Prefix::parse)?;
                Ok(())
            },
        },
    },
    Sysctl {
        name: "allowed_ports\0",
        value: Value::List {
            text: |c| c.ports.text(),
            set: |c, t| {
                c.ports = TextList::parse(t, PortRange::parse)?;
                Ok(())
            },
        },
    },
    Sysctl {
        name: "client_ct_mark\0",
        value: Value::Number {
            get: |c| c.client_ct_mark,
            set: |c, v| c.client_ct_mark = v,
            min: 0,
            max: u32::MAX,
            show_hex: true,
        },
    },
    Sysctl {
        name: "max_conns\0",
        value: Value::Number {
            get: |c| c.max_conns,
            set: |c, v| c.max_conns = v,
            min: 1,
            max: 1 << 20,
            show_hex: false,
        },
    },
    Sysctl {
        name: "max_conns_per_client\0",
        value: Value::Number {
            get: |c| c.max_conns_per_client,
            set: |c, v| c.max_conns_per_client = v,
            min: 0,
            max: 1 << 20,
            show_hex: false,
        },
    },
    Sysctl {
        name: "connect_syn_retries\0",
        value: Value::Number {
            get: |c| c.syn_retries,
            set: |c, v| c.syn_retries = v,
            min: 1,
            max: 6,
            show_hex: false,
        },
    },
    Sysctl {
        // Below a day, like the kernel's other timeouts in seconds.
        name: "idle_timeout\0",
        value: Value::Number {
            get: |c| c.idle_s,
            set: |c, v| c.idle_s = v,
            min: 0,
            max: 86_399,
            show_hex: false,
        },
    },
];

impl Sysctl {
    /// Writes the value in `c`, as reading the sysctl shows it (without the newline).
    pub fn get(&self, c: &Config, w: &mut dyn Write) -> fmt::Result {
        match self.value {
            Value::Number {
                get,
                show_hex: true,
                ..
            } => write!(w, "{:#x}", get(c)),
            Value::Number { get, .. } => write!(w, "{}", get(c)),
            Value::List { text, .. } => w.write_str(text(c)),
        }
    }

    /// Sets the value in `c` from what was written (surrounding white space ignored).
    /// On error `c` is unchanged.
    pub fn set(&self, c: &mut Config, text: &str) -> Result<(), Invalid> {
        let text = text.trim();
        match self.value {
            Value::Number { set, min, max, .. } => {
                let v = num::number(text)
                    .filter(|v| (min..=max).contains(v))
                    .ok_or(Invalid)?;
                set(c, v);
                Ok(())
            }
            Value::List { set, .. } => set(c, text),
        }
    }
}

/// The names of [`SYSCTLS`], in order.
pub const NAMES: [&str; SYSCTLS.len()] = {
    let mut names = [""; SYSCTLS.len()];
    let mut i = 0;
    while i < names.len() {
        let b = SYSCTLS[i].name.as_bytes();
        // The kernel's table takes C strings: a name without its NUL does not build.
        assert!(!b.is_empty() && b[b.len() - 1] == 0);
        names[i] = SYSCTLS[i].name;
        i += 1;
    }
    names
};
