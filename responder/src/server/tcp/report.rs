//! The log line for connections turned away or evicted: one per interval
//! at most, summing what happened since the last, so a flood of refused
//! connections cannot become a flood of log lines.

use std::time::{Duration, Instant};

use crate::stats::TcpCounters;

/// Lines at most this often.
pub(super) const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// What a line says: fairness events since the previous line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Turned {
    pub refused_client_limit: u64,
    pub refused_full: u64,
    pub evicted: u64,
}

#[derive(Default)]
pub(super) struct Report {
    reported: TcpCounters,
    next: Option<Instant>,
}

impl Report {
    /// The events to log now, if any happened since the last line and the
    /// interval has passed; the first is logged at once.
    pub(super) fn due(&mut self, counters: &TcpCounters, now: Instant) -> Option<Turned> {
        if self.next.is_some_and(|next| now < next) {
            return None;
        }
        let turned = Turned {
            refused_client_limit: counters.refused_client_limit - self.reported.refused_client_limit,
            refused_full: counters.refused_full - self.reported.refused_full,
            evicted: counters.evicted - self.reported.evicted,
        };
        if turned == (Turned { refused_client_limit: 0, refused_full: 0, evicted: 0 }) {
            return None;
        }
        self.reported = *counters;
        self.next = Some(now + REPORT_INTERVAL);
        Some(turned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_summing_what_happened_between() {
        let start = Instant::now();
        let mut report = Report::default();
        let mut counters = TcpCounters { accepted: 5, closed_idle: 3, ..TcpCounters::default() };
        assert_eq!(report.due(&counters, start), None, "nothing turned away: nothing to say");
        counters.refused_client_limit = 1;
        let first = report.due(&counters, start).expect("the first is logged at once");
        assert_eq!(first.refused_client_limit, 1);
        for n in 2..1000 {
            counters.refused_client_limit = n;
            counters.evicted = n / 2;
            assert_eq!(report.due(&counters, start + REPORT_INTERVAL / 2), None, "within the interval");
        }
        let next = report.due(&counters, start + REPORT_INTERVAL).expect("due again");
        assert_eq!(next, Turned { refused_client_limit: 998, refused_full: 0, evicted: 499 });
        assert_eq!(report.due(&counters, start + REPORT_INTERVAL * 5), None, "quiet since");
    }
}
