// SPDX-License-Identifier: GPL-2.0

//! One direction of a proxied connection: its buffer, how its source ended, and the
//! step that moves data from one socket to the other (see `conn.rs` for the whole).

use kernel::prelude::*;

use crate::sys::socket::{Socket, Wake};

/// Bytes buffered per direction of a connection.
pub(crate) const BUF: usize = 64 * 1024;

/// How a source ended, once everything it delivered was read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// It may still deliver data.
    Open,
    /// End of stream.
    Fin,
    /// Reset or error.
    Failed,
}

/// One direction of a connection.
pub(super) struct Dir {
    /// Allocated while data moves (see the module documentation).
    pub(super) buf: Option<KVVec<u8>>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// How the source ended.
    pub(super) src: End,
    /// The source had nothing to read in this step.
    pub(super) dry: bool,
    /// No buffer could be allocated, or the destination refused data for want of
    /// memory while its send buffer had room: the tick retries (no wake-up may come).
    pub(super) starved: bool,
    /// We sent FIN on the destination.
    pub(super) shut: bool,
    /// The destination failed: nothing can be delivered any more.
    pub(super) dead: bool,
}

impl Dir {
    pub(super) fn new() -> Dir {
        Dir {
            buf: None,
            start: 0,
            end: 0,
            src: End::Open,
            dry: false,
            starved: false,
            shut: false,
            dead: false,
        }
    }

    /// The source ended as `end`: its buffer goes.
    fn source_ended(&mut self, end: End) {
        self.src = end;
        self.buf = None;
    }

    /// The source had nothing to read: its buffer goes until it has.
    fn source_dry(&mut self) {
        self.dry = true;
        self.buf = None;
    }

    /// Everything the source delivered has been written to the destination, or can
    /// never be.
    pub(super) fn drained(&self) -> bool {
        self.dead || (self.src != End::Open && self.start == self.end)
    }
}

/// How a source ended that reads as end of stream: a failed socket (its error
/// already taken by a send, or a closed MPTCP connection) also reads so, and must
/// not pass on as a FIN.
fn end_of(failed: bool) -> End {
    if failed {
        End::Failed
    } else {
        End::Fin
    }
}

/// Moves data one way, `from` to `to` through `d`; returns whether anything moved.
/// A buffer is taken only once the source has something to read, and given back as
/// soon as it is drained and the source has nothing more: quiet directions and idle
/// connections hold none. A source found empty is not asked again in this step
/// (`dry`); its next wake-up queues the work again. A failure of `from` or `to` is
/// recorded in `from_failed` or `to_failed`.
pub(super) fn pump<W: Wake>(
    from: &Socket<W>,
    to: &Socket<W>,
    d: &mut Dir,
    from_failed: &mut bool,
    to_failed: &mut bool,
    bytes: &mut u64,
) -> bool {
    if *to_failed {
        d.dead = true;
    }
    if d.dead {
        d.buf = None;
        d.start = 0;
        d.end = 0;
        return false;
    }
    let mut progress = false;
    if d.start == d.end && d.src == End::Open && !d.dry {
        let readable = if d.buf.is_some() {
            Ok(true)
        } else {
            from.readable()
        };
        match readable {
            Ok(false) => {
                d.src = end_of(*from_failed);
                d.buf = None;
                progress = true;
            }
            Ok(true) => {
                let buf = match d.buf.take() {
                    Some(b) => Some(b),
                    // Allocated with kvmalloc: never a high-order allocation that
                    // fails under fragmentation. Zeroed, as safe code must.
                    None => KVVec::from_elem(0u8, BUF, GFP_KERNEL).ok(),
                };
                d.starved = buf.is_none();
                match buf {
                    // The data waits in the socket; the tick retries.
                    None => d.dry = true,
                    Some(buf) => {
                        let buf = d.buf.insert(buf);
                        match from.recv(&mut buf[..]) {
                            Ok(0) => {
                                d.source_ended(end_of(*from_failed));
                                progress = true;
                            }
                            Ok(n) => {
                                d.start = 0;
                                d.end = n;
                                progress = true;
                            }
                            Err(e) if e == EAGAIN => d.source_dry(),
                            Err(_) => {
                                d.source_ended(End::Failed);
                                *from_failed = true;
                                progress = true;
                            }
                        }
                    }
                }
            }
            Err(e) if e == EAGAIN => d.source_dry(),
            Err(_) => {
                d.source_ended(End::Failed);
                *from_failed = true;
                progress = true;
            }
        }
    }
    if d.start < d.end {
        let Some(buf) = d.buf.as_ref() else {
            d.start = d.end;
            return progress;
        };
        match to.send(&buf[d.start..d.end]) {
            Ok(n) => {
                d.start += n;
                *bytes += n as u64;
                progress = progress || n > 0;
                d.starved = false;
            }
            // A full send buffer: its write-space wake-up queues the work again. With
            // room left, memory was refused (pressure): only the tick will retry.
            Err(e) if e == EAGAIN => d.starved = to.has_send_room(),
            Err(_) => {
                *to_failed = true;
                d.dead = true;
                d.buf = None;
                d.start = 0;
                d.end = 0;
                return true;
            }
        }
    }
    if d.src == End::Fin && d.start == d.end && !d.shut {
        to.shutdown_write();
        d.shut = true;
        progress = true;
    }
    progress
}
