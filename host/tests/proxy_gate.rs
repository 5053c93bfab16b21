// SPDX-License-Identifier: GPL-2.0

//! The decision on SYNs arriving at the proxy.

use mptcp_proxy_host::inet::addr::*;
use mptcp_proxy_host::inet::syn::Syn;
use mptcp_proxy_host::proxy::gate::*;
use mptcp_proxy_host::proxy::option::{encode_padded, ParseError, Target};
use mptcp_proxy_host::proxy::policy::*;
use mptcp_proxy_host::proxy::stats::Stat;

const PORT: u16 = 1080;
const MPC: [u8; 4] = [30, 4, 0x01, 0x81];
const JOIN: [u8; 12] = [30, 12, 0x10, 0x01, 0, 0, 0, 1, 0, 0, 0, 2];

fn opts(target: Option<Target>, mptcp: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 4, 0x05, 0xb4];
    v.extend_from_slice(mptcp);
    if let Some(t) = target {
        let mut b = [0u8; 24];
        let n = encode_padded(&t, &mut b).unwrap();
        v.extend_from_slice(&b[..n]);
    }
    v
}

fn run(dport: u16, options: &[u8], saddr: [u8; 4]) -> Decision {
    let clients = [Prefix::parse("10.0.0.0/8").unwrap()];
    let targets = [Prefix::parse("0.0.0.0/0").unwrap()];
    let ports = [PortRange::parse("1-65535").unwrap()];
    let pol = Policy {
        clients: &clients,
        targets: &targets,
        ports: &ports,
    };
    let syn = Syn {
        saddr: Addr::V4(saddr),
        daddr: Addr::V4([198, 51, 100, 1]),
        sport: 40000,
        dport,
        options,
    };
    decide(PORT, &syn, &pol, |a| a == Addr::V4([198, 51, 100, 1]))
}

const T: Target = Target::V4 {
    addr: [203, 0, 113, 9],
    port: 80,
};

#[test]
fn decisions() {
    let c = [10, 0, 0, 2];
    assert_eq!(run(PORT, &opts(Some(T), &MPC), c), Decision::Accept(T));
    // A plain TCP SYN with a target is accepted too (the client's MPTCP fell back).
    assert_eq!(run(PORT, &opts(Some(T), &[]), c), Decision::Accept(T));
    assert_eq!(run(PORT, &opts(None, &JOIN), c), Decision::Join);
    assert_eq!(
        run(PORT, &opts(Some(T), &JOIN), c),
        Decision::Refuse(Reason::TargetOnJoin)
    );
    assert_eq!(
        run(PORT, &opts(None, &MPC), c),
        Decision::Refuse(Reason::NoTarget)
    );
    assert_eq!(
        run(PORT, &opts(None, &[]), c),
        Decision::Refuse(Reason::NoTarget)
    );
    assert_eq!(run(PORT + 1, &opts(None, &[]), c), Decision::Ignore);
    assert_eq!(
        run(PORT, &opts(Some(T), &MPC), [192, 0, 2, 1]),
        Decision::Refuse(Reason::Policy(Refusal::ClientNotAllowed))
    );
    let own = Target::V4 {
        addr: [198, 51, 100, 1],
        port: 22,
    };
    assert_eq!(
        run(PORT, &opts(Some(own), &MPC), c),
        Decision::Refuse(Reason::Policy(Refusal::TargetIsProxy))
    );
    let lo = Target::V4 {
        addr: [127, 0, 0, 1],
        port: 22,
    };
    assert_eq!(
        run(PORT, &opts(Some(lo), &MPC), c),
        Decision::Refuse(Reason::Policy(Refusal::TargetSpecial(Special::Loopback)))
    );
    let mut bad = opts(Some(T), &MPC);
    assert_eq!(bad[8..12], [253, 11, 0x4d, 0x50]);
    bad[12] = 0x24; // version 2
    assert!(matches!(
        run(PORT, &bad, c),
        Decision::Refuse(Reason::BadOption(_))
    ));
    let mut trunc = opts(Some(T), &MPC);
    trunc.truncate(trunc.len() - 3);
    assert_eq!(
        run(PORT, &trunc, c),
        Decision::Refuse(Reason::BadOption(ParseError::BadOptionList))
    );
}

#[test]
fn proxy_off_ignores_everything() {
    let pol = Policy {
        clients: &[],
        targets: &[],
        ports: &[],
    };
    let o = opts(None, &[]);
    let syn = Syn {
        saddr: Addr::V4([1; 4]),
        daddr: Addr::V4([2; 4]),
        sport: 1,
        dport: 0,
        options: &o,
    };
    assert_eq!(decide(0, &syn, &pol, |_| false), Decision::Ignore);
}

#[test]
fn every_decision_but_ignore_has_a_counter() {
    assert_eq!(Decision::Ignore.stat(), None);
    assert_eq!(Decision::Join.stat(), Some(Stat::SynJoin));
    assert_eq!(Decision::Accept(T).stat(), Some(Stat::SynAccepted));
    assert_eq!(
        Decision::Refuse(Reason::NoTarget).stat(),
        Some(Stat::RefusedNoTarget)
    );
    // Each refusal reason moves a counter of its own.
    let reasons = [
        Reason::BadOption(ParseError::BadOptionList),
        Reason::BadOption(ParseError::BadLength),
        Reason::BadOption(ParseError::BadVersion),
        Reason::BadOption(ParseError::BadFamily),
        Reason::BadOption(ParseError::ZeroPort),
        Reason::BadOption(ParseError::Duplicate),
        Reason::NoTarget,
        Reason::TargetOnJoin,
        Reason::Policy(Refusal::ClientNotAllowed),
        Reason::Policy(Refusal::TargetIsProxy),
        Reason::Policy(Refusal::TargetSpecial(Special::Loopback)),
        Reason::Policy(Refusal::TargetNotAllowed),
        Reason::Policy(Refusal::TargetInternal),
        Reason::Policy(Refusal::PortNotAllowed),
    ];
    let stats: Vec<Stat> = reasons
        .iter()
        .map(|r| Decision::Refuse(*r).stat().unwrap())
        .collect();
    for (i, a) in stats.iter().enumerate() {
        assert!(a.name().starts_with("ProxyRefused"), "{a:?}");
        assert!(stats[i + 1..].iter().all(|b| b != a), "{a:?} shared");
    }
}

#[test]
fn counter_table() {
    // Indices are positions, names are unique and keep the part's prefix (nstat reads
    // them), and they are the ones the admin guide lists, in the same order.
    for (i, s) in Stat::ALL.iter().enumerate() {
        assert_eq!(*s as usize, i);
        assert!(
            s.name().starts_with("Proxy") && s.name().len() < 32,
            "{}",
            s.name()
        );
        assert!(
            Stat::ALL[i + 1..].iter().all(|t| t.name() != s.name()),
            "{} twice",
            s.name()
        );
    }
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../Documentation/proxy-admin.rst"
    ))
    .unwrap();
    let documented: Vec<&str> = guide
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| {
            w.len() > 5 && w.starts_with("Proxy") && w.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .collect();
    let names: Vec<&str> = Stat::ALL.iter().map(|s| s.name()).collect();
    // The guide's table ends with the two gauges, which are not counters.
    assert_eq!(
        documented,
        [&names[..], &["ProxyConnActive", "ProxyPending"]].concat()
    );
}
