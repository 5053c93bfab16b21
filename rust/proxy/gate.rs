// SPDX-License-Identifier: GPL-2.0

//! The decision on a SYN that arrives at the proxy: refuse it (and why), or let it
//! through with its target.
//!
//! Pure: no kernel imports; `host/` builds this file too. The netfilter hook in `sys/`
//! (through `proxy::hook`) hands over the addresses, ports and option bytes of every TCP
//! SYN (without ACK) it sees; this file decides.

use super::option::{self, MptcpSyn, ParseError, Target};
use super::policy::{Policy, Refusal};
use super::stats::Stat;
use crate::inet::addr::Addr;
use crate::inet::syn::Syn;

/// Why a SYN to the proxy port was refused. Each is a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The option list or the proxy-target option is malformed.
    BadOption(ParseError),
    /// A new connection (MP_CAPABLE or plain SYN) without a proxy-target option.
    NoTarget,
    /// An MP_JOIN SYN carrying a proxy-target option.
    TargetOnJoin,
    /// The policy refused the client or the target.
    Policy(Refusal),
}

/// What to do with a SYN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not for the proxy (another port, or the proxy is off): leave it alone.
    Ignore,
    /// An MP_JOIN for an existing connection: MPTCP handles it.
    Join,
    /// A new proxied connection to this target.
    Accept(Target),
    /// Refuse with a reset.
    Refuse(Reason),
}

/// Decides on a SYN. `proxy_port` is the configured port (0: proxy off); `is_own` tells
/// whether an address is one of the proxy's.
pub fn decide(
    proxy_port: u16,
    syn: &Syn<'_>,
    policy: &Policy<'_>,
    is_own: impl Fn(Addr) -> bool,
) -> Decision {
    if proxy_port == 0 || syn.dport != proxy_port {
        return Decision::Ignore;
    }
    let opts = match option::parse(syn.options) {
        Ok(o) => o,
        Err(e) => return Decision::Refuse(Reason::BadOption(e)),
    };
    match (opts.mptcp, opts.target) {
        (MptcpSyn::Join, None) => Decision::Join,
        (MptcpSyn::Join, Some(_)) => Decision::Refuse(Reason::TargetOnJoin),
        (_, None) => Decision::Refuse(Reason::NoTarget),
        (_, Some(t)) => match policy.check(syn.saddr, &t, is_own) {
            Ok(()) => Decision::Accept(t),
            Err(r) => Decision::Refuse(Reason::Policy(r)),
        },
    }
}

impl Decision {
    /// The counter a decision moves, if any.
    pub fn stat(&self) -> Option<Stat> {
        Some(match self {
            Decision::Ignore => return None,
            Decision::Join => Stat::SynJoin,
            Decision::Accept(_) => Stat::SynAccepted,
            Decision::Refuse(r) => match r {
                Reason::BadOption(ParseError::BadOptionList) => Stat::RefusedBadOptionList,
                Reason::BadOption(ParseError::BadLength) => Stat::RefusedBadLength,
                Reason::BadOption(ParseError::BadVersion) => Stat::RefusedBadVersion,
                Reason::BadOption(ParseError::BadFamily) => Stat::RefusedBadFamily,
                Reason::BadOption(ParseError::ZeroPort) => Stat::RefusedZeroPort,
                Reason::BadOption(ParseError::Duplicate) => Stat::RefusedDuplicate,
                Reason::NoTarget => Stat::RefusedNoTarget,
                Reason::TargetOnJoin => Stat::RefusedTargetOnJoin,
                Reason::Policy(Refusal::ClientNotAllowed) => Stat::RefusedClient,
                Reason::Policy(Refusal::TargetIsProxy) => Stat::RefusedTargetIsProxy,
                Reason::Policy(Refusal::TargetSpecial(_)) => Stat::RefusedTargetSpecial,
                Reason::Policy(Refusal::TargetNotAllowed) => Stat::RefusedTargetNotAllowed,
                Reason::Policy(Refusal::TargetInternal) => Stat::RefusedTargetInternal,
                Reason::Policy(Refusal::PortNotAllowed) => Stat::RefusedPortNotAllowed,
            },
        })
    }
}
