// SPDX-License-Identifier: GPL-2.0

//! The `net.mptcp_proxy.*` sysctl table: names, defaults, parsing, bounds, and that a
//! refused value changes nothing.

use mptcp_proxy_host::proxy::config::*;

fn idx(name: &str) -> usize {
    NAMES
        .iter()
        .position(|n| n.trim_end_matches('\0') == name)
        .unwrap_or_else(|| panic!("{name}"))
}

fn get(c: &Config, name: &str) -> String {
    let mut s = String::new();
    SYSCTLS[idx(name)].get(c, &mut s).unwrap();
    s
}

fn set(c: &mut Config, name: &str, v: &str) -> Result<(), Invalid> {
    SYSCTLS[idx(name)].set(c, v)
}

#[test]
fn names_and_defaults() {
    let documented = [
        "port",
        "allowed_clients",
        "allowed_targets",
        "allowed_ports",
        "client_ct_mark",
        "max_conns",
        "max_conns_per_client",
        "connect_syn_retries",
        "idle_timeout",
    ];
    assert_eq!(NAMES.len(), documented.len());
    for (n, d) in NAMES.iter().zip(documented) {
        assert!(n.ends_with('\0') && n.matches('\0').count() == 1, "{n:?}");
        assert_eq!(n.trim_end_matches('\0'), d);
    }
    let c = Config::default();
    let want = [
        ("port", "0"),
        ("allowed_clients", ""),
        ("client_ct_mark", "0x0"),
        ("max_conns", "1024"),
        ("max_conns_per_client", "256"),
        ("connect_syn_retries", "1"),
        ("idle_timeout", "600"),
    ];
    for (n, v) in want {
        assert_eq!(get(&c, n), v, "{n}");
    }
}

#[test]
fn numbers_within_bounds() {
    let mut c = Config::default();
    let cases: [(&str, &[&str], &[&str]); 6] = [
        (
            "max_conns_per_client",
            &["0", "1", "1048576"],
            &["1048577", "-1"],
        ),
        (
            "port",
            &["0", "1", "65535", "0x1f90"],
            &["65536", "-1", "", "80 81", "x"],
        ),
        (
            "client_ct_mark",
            &["0", "0x10", "4294967295"],
            &["4294967296", "0x", "mark"],
        ),
        ("max_conns", &["1", "1048576"], &["0", "1048577"]),
        ("connect_syn_retries", &["1", "6"], &["0", "7"]),
        ("idle_timeout", &["0", "86399"], &["86400", "1.5"]),
    ];
    for (name, good, bad) in cases {
        for v in good {
            set(&mut c, name, v).unwrap_or_else(|_| panic!("{name}={v}"));
            let back = get(&c, name);
            let want = mptcp_proxy_host::inet::num::number(v).unwrap();
            assert_eq!(
                mptcp_proxy_host::inet::num::number(&back),
                Some(want),
                "{name}={v}"
            );
        }
        for v in bad {
            let before = get(&c, name);
            assert_eq!(set(&mut c, name, v), Err(Invalid), "{name}={v:?}");
            assert_eq!(get(&c, name), before, "{name} changed by a refused write");
        }
    }
    // Written with a newline or spaces around, as `echo` and sysctl(8) do.
    set(&mut c, "port", " 8080\n").unwrap();
    assert_eq!(c.port, 8080);
}

#[test]
fn lists() {
    let mut c = Config::default();
    set(&mut c, "allowed_targets", "10.0.0.0/8, 2001:db8::/32").unwrap();
    assert_eq!(c.targets.items().len(), 2);
    assert_eq!(get(&c, "allowed_targets"), "10.0.0.0/8, 2001:db8::/32");
    set(&mut c, "allowed_ports", "80 443 8000-8999").unwrap();
    assert_eq!(c.ports.items().len(), 3);
    // Refused: a bad item anywhere, and the list stays as it was.
    for bad in ["10.0.0.0/8 bogus", "10.0.0.0/33", "::/129"] {
        assert_eq!(set(&mut c, "allowed_targets", bad), Err(Invalid));
        assert_eq!(c.targets.items().len(), 2);
    }
    assert_eq!(set(&mut c, "allowed_ports", "0"), Err(Invalid));
    assert_eq!(set(&mut c, "allowed_ports", "90-80"), Err(Invalid));
    // 32 items are the limit, reached by items and not by the text's length: short IPv6
    // addresses make 33 items in well under 256 characters.
    let items = |n: usize| {
        (1..=n)
            .map(|i| format!("::{i:x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(items(33).len() < MAX_LIST_TEXT);
    set(&mut c, "allowed_clients", &items(32)).unwrap();
    assert_eq!(c.clients.items().len(), MAX_PREFIXES);
    assert_eq!(set(&mut c, "allowed_clients", &items(33)), Err(Invalid));
    assert_eq!(c.clients.items().len(), MAX_PREFIXES);
    // And the text limit on its own.
    let long = vec!["10.0.0.1"; 29].join("    ");
    assert!(long.len() > MAX_LIST_TEXT);
    assert_eq!(set(&mut c, "allowed_clients", &long), Err(Invalid));
    // Empty: nothing allowed.
    set(&mut c, "allowed_clients", "").unwrap();
    assert!(c.clients.items().is_empty());
}
