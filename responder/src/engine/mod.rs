//! The answer engine: a query rewritten into its answer in place.
//!
//! Two entry points share one implementation:
//! - [`answer_in_place`] takes a whole Ethernet frame (AF_XDP data plane);
//! - [`answer_message`] takes a bare DNS message (kernel sockets, TCP).
//!
//! Both are pure: no allocation, no locks, no system calls, no panics, and no
//! access outside `buf[..capacity]` whatever the input.

use crate::table::Table;

/// What to do with a frame after [`answer_in_place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The frame now holds the answer, `usize` bytes long: send it back.
    Transmit(usize),
    /// Not worth an answer (a response, or unreadable): recycle the frame.
    Drop,
    /// Not DNS over UDP to us: hand it to the kernel.
    Pass,
}

/// How the message arrived; decides the size limit and truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Serving options that shape answers but are not zone data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The UDP payload size we advertise in OPT and accept at most (RFC 6891).
    pub edns_udp_size: u16,
    /// CHAOS TXT `id.server.` answer; `None` refuses the query.
    pub identity: Option<String>,
    /// CHAOS TXT `hostname.bind.` answer; `None` refuses the query.
    pub hostname: Option<String>,
    /// CHAOS TXT `version.bind.` (and `version.server.`) answer; `None` refuses.
    pub version: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options { edns_udp_size: 1232, identity: None, hostname: None, version: None }
    }
}

/// A table with the options it is served with.
pub struct Engine {
    table: Table,
    options: Options,
}

impl Engine {
    pub fn new(table: Table, options: Options) -> Engine {
        Engine { table, options }
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn options(&self) -> &Options {
        &self.options
    }
}

/// Rewrites the query frame `frame[..len]` into its answer. `capacity`
/// (≤ `frame.len()`) bounds how far the answer may grow.
pub fn answer_in_place(engine: &Engine, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
    let _ = (engine, frame, len, capacity);
    Verdict::Drop
}

/// Rewrites the DNS message `buf[..len]` into its answer, at most
/// `buf.len()` bytes; `None` means send nothing.
pub fn answer_message(engine: &Engine, buf: &mut [u8], len: usize, transport: Transport) -> Option<usize> {
    let _ = (engine, buf, len, transport);
    None
}
