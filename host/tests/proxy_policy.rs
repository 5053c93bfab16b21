// SPDX-License-Identifier: GPL-2.0

//! The proxy's access policy: address parsing, prefixes, special addresses, decisions.

use mptcp_proxy_host::inet::addr::*;
use mptcp_proxy_host::proxy::option::Target;
use mptcp_proxy_host::proxy::policy::*;

fn a(s: &str) -> Addr {
    parse_addr(s).unwrap_or_else(|| panic!("{s}"))
}

fn p(s: &str) -> Prefix {
    Prefix::parse(s).unwrap_or_else(|| panic!("{s}"))
}

#[test]
fn parses_addresses() {
    assert_eq!(a("192.0.2.1"), Addr::V4([192, 0, 2, 1]));
    assert_eq!(a("::"), Addr::V6([0; 16]));
    assert_eq!(
        a("::1"),
        Addr::V6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    );
    let db8 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(a("2001:db8::1"), Addr::V6(db8));
    assert_eq!(a("2001:DB8:0:0:0:0:0:1"), Addr::V6(db8));
    assert_eq!(
        a("2001:db8::"),
        Addr::V6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(a("::ffff:10.1.2.3").unmapped(), Addr::V4([10, 1, 2, 3]));
    for bad in [
        "",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.04x",
        "1..2.3",
        ":::",
        "1::2::3",
        "12345::",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "g::",
        "1:2:3:4:5:6:7::8",
        "::1.2.3",
        "1:2:3:4:5:6:7:1.2.3.4",
    ] {
        assert_eq!(parse_addr(bad), None, "{bad:?}");
    }
}

#[test]
fn prefixes() {
    assert!(p("10.0.0.0/8").contains(a("10.200.1.1")));
    assert!(!p("10.0.0.0/8").contains(a("11.0.0.1")));
    assert!(p("10.1.2.128/25").contains(a("10.1.2.200")));
    assert!(!p("10.1.2.128/25").contains(a("10.1.2.127")));
    assert!(p("0.0.0.0/0").contains(a("203.0.113.9")));
    assert!(p("192.0.2.7").contains(a("192.0.2.7")) && !p("192.0.2.7").contains(a("192.0.2.8")));
    assert!(p("2001:db8::/32").contains(a("2001:db8:ffff::1")));
    assert!(!p("2001:db8::/33").contains(a("2001:db8:8000::1")));
    // IPv4-mapped IPv6 addresses match IPv4 prefixes; families do not mix otherwise.
    assert!(p("10.0.0.0/8").contains(a("::ffff:10.0.0.1")));
    assert!(!p("::/0").contains(a("10.0.0.1")));
    for bad in [
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/1/2",
        "/8",
    ] {
        assert_eq!(Prefix::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn special_addresses() {
    for (s, want) in [
        ("0.0.0.0", Special::Unspecified),
        ("0.1.2.3", Special::Unspecified),
        ("127.0.0.1", Special::Loopback),
        ("127.255.0.9", Special::Loopback),
        ("169.254.1.1", Special::LinkLocal),
        ("224.0.0.1", Special::Multicast),
        ("239.255.255.255", Special::Multicast),
        ("255.255.255.255", Special::Broadcast),
        ("::", Special::Unspecified),
        ("::1", Special::Loopback),
        ("fe80::1", Special::LinkLocal),
        ("febf::1", Special::LinkLocal),
        ("ff02::1", Special::Multicast),
        ("::ffff:127.0.0.1", Special::Loopback),
        ("::ffff:0.0.0.0", Special::Unspecified),
    ] {
        assert_eq!(special(a(s)), Some(want), "{s}");
    }
    for s in [
        "10.0.0.1",
        "192.0.2.1",
        "223.255.255.255",
        "240.0.0.1",
        "2001:db8::1",
        "fec0::1",
        "::2",
    ] {
        assert_eq!(special(a(s)), None, "{s}");
    }
}

#[test]
fn ports() {
    assert_eq!(
        PortRange::parse("443"),
        Some(PortRange {
            first: 443,
            last: 443
        })
    );
    assert_eq!(
        PortRange::parse("1-65535"),
        Some(PortRange {
            first: 1,
            last: 65535
        })
    );
    for bad in ["0", "65536", "10-5", "", "-", "1-", "a", "1-2-3", "123456"] {
        assert_eq!(PortRange::parse(bad), None, "{bad:?}");
    }
}

fn t(s: &str, port: u16) -> Target {
    match a(s) {
        Addr::V4(addr) => Target::V4 { addr, port },
        Addr::V6(addr) => Target::V6 { addr, port },
    }
}

#[test]
fn decisions() {
    let clients = [p("10.0.0.0/8"), p("2001:db8:c::/48")];
    let targets = [p("0.0.0.0/0"), p("::/0")];
    let ports = [PortRange::parse("1-65535").unwrap()];
    let pol = Policy {
        clients: &clients,
        targets: &targets,
        ports: &ports,
    };
    let own = |x: Addr| x == a("198.51.100.1") || x == a("2001:db8:1::1");
    let client = a("10.1.1.1");
    assert_eq!(pol.check(client, &t("203.0.113.5", 80), own), Ok(()));
    assert_eq!(
        pol.check(a("2001:db8:c::5"), &t("2001:db8:5::5", 80), own),
        Ok(())
    );
    assert_eq!(
        pol.check(a("192.0.2.1"), &t("203.0.113.5", 80), own),
        Err(Refusal::ClientNotAllowed)
    );
    assert_eq!(
        pol.check(client, &t("198.51.100.1", 80), own),
        Err(Refusal::TargetIsProxy)
    );
    assert_eq!(
        pol.check(client, &t("::ffff:198.51.100.1", 80), own),
        Err(Refusal::TargetIsProxy)
    );
    assert_eq!(
        pol.check(client, &t("2001:db8:1::1", 80), own),
        Err(Refusal::TargetIsProxy)
    );
    // Special addresses are refused even though 0.0.0.0/0 and ::/0 are allowed.
    for (s, sp) in [
        ("127.0.0.1", Special::Loopback),
        ("::1", Special::Loopback),
        ("::ffff:127.0.0.1", Special::Loopback),
        ("0.0.0.0", Special::Unspecified),
        ("169.254.0.1", Special::LinkLocal),
        ("fe80::2", Special::LinkLocal),
        ("224.1.1.1", Special::Multicast),
        ("255.255.255.255", Special::Broadcast),
    ] {
        assert_eq!(
            pol.check(client, &t(s, 80), own),
            Err(Refusal::TargetSpecial(sp)),
            "{s}"
        );
    }
    // Lists restrict.
    let targets = [p("203.0.113.0/24")];
    let ports = [
        PortRange::parse("443").unwrap(),
        PortRange::parse("8000-8999").unwrap(),
    ];
    let pol = Policy {
        clients: &clients,
        targets: &targets,
        ports: &ports,
    };
    assert_eq!(pol.check(client, &t("203.0.113.5", 443), own), Ok(()));
    assert_eq!(pol.check(client, &t("203.0.113.5", 8443), own), Ok(()));
    assert_eq!(
        pol.check(client, &t("203.0.113.5", 80), own),
        Err(Refusal::PortNotAllowed)
    );
    assert_eq!(
        pol.check(client, &t("198.18.0.1", 443), own),
        Err(Refusal::TargetNotAllowed)
    );
}

#[test]
fn closed_by_default() {
    let pol = Policy {
        clients: &[],
        targets: &[],
        ports: &[],
    };
    assert_eq!(
        pol.check(a("10.0.0.1"), &t("203.0.113.5", 80), |_| false),
        Err(Refusal::ClientNotAllowed)
    );
    let clients = [p("0.0.0.0/0")];
    let pol = Policy {
        clients: &clients,
        targets: &[],
        ports: &[],
    };
    assert_eq!(
        pol.check(a("10.0.0.1"), &t("203.0.113.5", 80), |_| false),
        Err(Refusal::TargetNotAllowed)
    );
}

#[test]
fn lists() {
    let l =
        List::<Prefix, 4>::parse(" 10.0.0.0/8,192.0.2.1\n2001:db8::/32\t", Prefix::parse).unwrap();
    assert_eq!(
        l.as_slice(),
        &[p("10.0.0.0/8"), p("192.0.2.1/32"), p("2001:db8::/32")]
    );
    assert_eq!(
        List::<Prefix, 4>::parse("", Prefix::parse)
            .unwrap()
            .as_slice(),
        &[]
    );
    assert_eq!(
        List::<Prefix, 4>::parse("10.0.0.0/8 bogus", Prefix::parse).err(),
        Some(ListError::BadItem(1))
    );
    assert_eq!(
        List::<Prefix, 2>::parse("1.1.1.1 2.2.2.2 3.3.3.3", Prefix::parse).err(),
        Some(ListError::TooMany)
    );
    let ports = List::<PortRange, 4>::parse("80,443 8000-8999", PortRange::parse).unwrap();
    assert_eq!(ports.as_slice().len(), 3);
}

#[test]
fn internal_ranges_need_naming() {
    let clients = [p("0.0.0.0/0")];
    let ports = [PortRange::parse("1-65535").unwrap()];
    let own = |_: Addr| false;
    let client = a("192.0.2.9");
    let catch_all = [p("0.0.0.0/0"), p("::/0")];
    let pol = Policy {
        clients: &clients,
        targets: &catch_all,
        ports: &ports,
    };
    // A catch-all opens no internal range, in any of its spellings.
    for s in [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "100.64.0.1",
        "100.127.255.254",
        "198.18.0.1",
        "240.0.0.1",
        "254.1.1.1",
        "::ffff:10.1.2.3",
        "fd00:ec2::254",
        "fc00::1",
        "fec0::1",
        "64:ff9b::a01:203",
        "64:ff9b:1::1",
        "2002:a01:203::1",
        "::10.1.2.3",
        "2001:0:4136:e378::1",
    ] {
        assert_eq!(
            pol.check(client, &t(s, 80), own),
            Err(Refusal::TargetInternal),
            "{s}"
        );
        assert!(internal(a(s)).is_some(), "{s}");
    }
    // Public addresses next to them are not internal.
    for s in [
        "11.0.0.1",
        "172.32.0.1",
        "192.169.0.1",
        "100.128.0.1",
        "198.20.0.1",
        "239.0.0.0",
        "2001:db8::1",
        "2003::1",
        "fe00::1",
        "64:ff9b:2::1",
    ] {
        assert_eq!(internal(a(s)), None, "{s}");
    }
    assert_eq!(pol.check(client, &t("203.0.113.5", 80), own), Ok(()));
    // Named: a prefix inside the range (or the range itself) opens that part only.
    let named = [
        p("10.1.0.0/16"),
        p("192.168.0.0/16"),
        p("fd00:ec2::/32"),
        p("0.0.0.0/0"),
    ];
    let pol = Policy {
        clients: &clients,
        targets: &named,
        ports: &ports,
    };
    assert_eq!(pol.check(client, &t("10.1.2.3", 80), own), Ok(()));
    assert_eq!(pol.check(client, &t("192.168.7.7", 80), own), Ok(()));
    assert_eq!(pol.check(client, &t("fd00:ec2::254", 80), own), Ok(()));
    assert_eq!(
        pol.check(client, &t("10.2.0.1", 80), own),
        Err(Refusal::TargetInternal)
    );
    // A prefix wider than the range is a catch-all for it.
    let wide = [p("10.0.0.0/7")];
    let pol = Policy {
        clients: &clients,
        targets: &wide,
        ports: &ports,
    };
    assert_eq!(
        pol.check(client, &t("10.1.2.3", 80), own),
        Err(Refusal::TargetInternal)
    );
    // Special addresses stay refused even when named.
    let lo = [p("127.0.0.0/8")];
    let pol = Policy {
        clients: &clients,
        targets: &lo,
        ports: &ports,
    };
    assert_eq!(
        pol.check(client, &t("127.0.0.1", 80), own),
        Err(Refusal::TargetSpecial(Special::Loopback))
    );
}

#[test]
fn embedded_ipv4_is_checked_too() {
    let clients = [p("0.0.0.0/0")];
    let ports = [PortRange::parse("1-65535").unwrap()];
    let own = |x: Addr| x == a("198.51.100.1");
    let client = a("192.0.2.9");
    // NAT64 and 6to4 named explicitly: public IPv4 addresses behind them are fine, the
    // ones no target may be are not, and internal ones need naming as IPv4.
    let targets = [p("64:ff9b::/96"), p("2002::/16"), p("10.1.0.0/16")];
    let pol = Policy {
        clients: &clients,
        targets: &targets,
        ports: &ports,
    };
    assert_eq!(pol.check(client, &t("64:ff9b::cb00:7105", 80), own), Ok(()));
    assert_eq!(pol.check(client, &t("2002:cb00:7105::1", 80), own), Ok(()));
    assert_eq!(
        pol.check(client, &t("64:ff9b::7f00:1", 80), own),
        Err(Refusal::TargetSpecial(Special::Loopback))
    );
    assert_eq!(
        pol.check(client, &t("64:ff9b::a9fe:a9fe", 80), own),
        Err(Refusal::TargetSpecial(Special::LinkLocal))
    );
    assert_eq!(
        pol.check(client, &t("2002:7f00:1::", 80), own),
        Err(Refusal::TargetSpecial(Special::Loopback))
    );
    assert_eq!(
        pol.check(client, &t("64:ff9b::c633:6401", 80), own),
        Err(Refusal::TargetIsProxy)
    );
    assert_eq!(
        pol.check(client, &t("64:ff9b::a09:909", 80), own),
        Err(Refusal::TargetInternal)
    );
    assert_eq!(pol.check(client, &t("64:ff9b::a01:203", 80), own), Ok(()));
    assert_eq!(embedded_v4(a("::ffff:0:a01:203")), Some(a("10.1.2.3")));
    // Teredo: the client's address, inverted, in the last 32 bits.
    assert_eq!(
        embedded_v4(a("2001:0:4136:e378::34ff:8efa")),
        Some(a("203.0.113.5"))
    );
    assert_eq!(embedded_v4(a("2001:db8::1")), None);
    for s in ["192.0.0.8", "::ffff:0:a01:203", "100::1"] {
        assert!(internal(a(s)).is_some(), "{s}");
    }
}
