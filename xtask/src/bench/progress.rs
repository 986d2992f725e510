//! One status line while the bench runs: which server, what it is doing,
//! how far along the run is. Rewritten in place on a terminal, one line per
//! update otherwise (CI logs).

use std::io::{IsTerminal, Write};
use std::time::Instant;

use super::plan::ServerKind;

pub struct Progress {
    started: Instant,
    servers: usize,
    current: usize,
    last: Option<ServerKind>,
    terminal: bool,
}

impl Progress {
    pub fn new(servers: usize) -> Progress {
        Progress { started: Instant::now(), servers, current: 0, last: None, terminal: std::io::stderr().is_terminal() }
    }

    pub fn note(&mut self, kind: ServerKind, what: &str) {
        if self.last != Some(kind) {
            self.last = Some(kind);
            self.current += 1;
        }
        let line = line(self.current, self.servers, self.started.elapsed().as_secs(), kind, what);
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal { write!(err, "\r\x1b[2K{line}") } else { writeln!(err, "{line}") };
        let _ = err.flush();
    }

    /// Ends the line so that what follows starts on a fresh one.
    pub fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

fn line(current: usize, total: usize, elapsed: u64, kind: ServerKind, what: &str) -> String {
    format!("xtask bench [{current}/{total}] {:>2}:{:02} {kind}: {what}", elapsed / 60, elapsed % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_where_the_run_is() {
        assert_eq!(
            line(3, 8, 125, ServerKind::KnotXdp, "100 k q/s offered, repeat 2/3"),
            "xtask bench [3/8]  2:05 knot-xdp: 100 k q/s offered, repeat 2/3"
        );
    }
}
