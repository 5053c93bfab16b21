// SPDX-License-Identifier: GPL-2.0

//! The proxy's counters, per network namespace, in `/proc/net/mptcp_proxy_stat`
//! (`Documentation/proxy-admin.rst` says what each means).
//!
//! Pure: no kernel imports; `host/` builds this file too.

counters! {
    /// A proxy counter.
    pub enum Stat {
        /// A SYN to the proxy port with a valid, allowed target.
        SynAccepted = "ProxySynAccepted",
        /// An MP_JOIN SYN to the proxy port, left to MPTCP.
        SynJoin = "ProxySynJoin",
        /// Refused: the option list is malformed.
        RefusedBadOptionList = "ProxyRefusedBadOptionList",
        /// Refused: the proxy-target option has a wrong length.
        RefusedBadLength = "ProxyRefusedBadLength",
        /// Refused: an unknown option version.
        RefusedBadVersion = "ProxyRefusedBadVersion",
        /// Refused: an unknown address family.
        RefusedBadFamily = "ProxyRefusedBadFamily",
        /// Refused: target port 0.
        RefusedZeroPort = "ProxyRefusedZeroPort",
        /// Refused: two proxy-target options.
        RefusedDuplicate = "ProxyRefusedDuplicate",
        /// Refused: a new connection without a target.
        RefusedNoTarget = "ProxyRefusedNoTarget",
        /// Refused: a target on an MP_JOIN.
        RefusedTargetOnJoin = "ProxyRefusedTargetOnJoin",
        /// Refused: the client is not allowed.
        RefusedClient = "ProxyRefusedClient",
        /// Refused: the target is one of the proxy's addresses.
        RefusedTargetIsProxy = "ProxyRefusedTargetIsProxy",
        /// Refused: a loopback, link-local, multicast, broadcast or unspecified target.
        RefusedTargetSpecial = "ProxyRefusedTargetSpecial",
        /// Refused: the target address is not allowed.
        RefusedTargetNotAllowed = "ProxyRefusedTargetNotAllowed",
        /// Refused: the target is in an internal range no allowed prefix names.
        RefusedTargetInternal = "ProxyRefusedTargetInternal",
        /// Refused: the target port is not allowed.
        RefusedPortNotAllowed = "ProxyRefusedPortNotAllowed",
        /// Client side: a SYN was tagged with its target.
        ClientTagged = "ProxyClientTagged",
        /// Client side: the timestamps option was removed to make room.
        ClientDroppedTimestamps = "ProxyClientDroppedTimestamps",
        /// Client side: no room for the option; the SYN went out untagged.
        ClientNoRoom = "ProxyClientNoRoom",
        /// Client side: the packet could not be rewritten (no memory); it went out
        /// untagged.
        ClientRewriteFailed = "ProxyClientRewriteFailed",
        /// Client side: a SYN carrying data (TCP Fast Open); it went out untagged.
        ClientSynData = "ProxyClientSynData",
        /// A valid SYN refused: the pending table had no room in its bucket.
        PendingFull = "ProxyPendingFull",
        /// A valid SYN refused: its client holds its quota of pending targets.
        PendingClientQuota = "ProxyPendingClientQuota",
        /// A second SYN of a pending connection named another target: both refused.
        PendingConflict = "ProxyPendingConflict",
        /// An accepted connection had no remembered target: reset.
        AcceptNoTarget = "ProxyAcceptNoTarget",
        /// An accepted connection beyond `max_conns`: reset.
        RefusedTooMany = "ProxyRefusedTooMany",
        /// An accepted connection beyond `max_conns_per_client`: reset.
        RefusedClientTooMany = "ProxyRefusedClientTooMany",
        /// A proxied connection started.
        ConnAccepted = "ProxyConnAccepted",
        /// A proxied connection ended with both sides closed.
        ConnClosed = "ProxyConnClosed",
        /// A proxied connection ended with a reset or an error.
        ConnReset = "ProxyConnReset",
        /// A proxied connection was idle for the idle timeout: reset.
        ConnIdleTimeout = "ProxyConnIdleTimeout",
        /// The upstream connect was refused (or reset).
        UpstreamRefused = "ProxyUpstreamRefused",
        /// The upstream connect timed out.
        UpstreamTimeout = "ProxyUpstreamTimeout",
        /// The target was unreachable.
        UpstreamUnreachable = "ProxyUpstreamUnreachable",
        /// The upstream connect failed otherwise.
        UpstreamFailed = "ProxyUpstreamFailed",
        /// Bytes relayed from clients to targets.
        BytesUp = "ProxyBytesUp",
        /// Bytes relayed from targets to clients.
        BytesDown = "ProxyBytesDown",
    }
}
