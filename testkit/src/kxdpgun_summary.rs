//! kxdpgun's closing summary, parsed: for the kxdpgun runs of the
//! integration tests and of `cargo xtask bench`.

use std::collections::BTreeMap;

/// kxdpgun's closing summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub sent: u64,
    pub replies: u64,
    /// `replies` per second as kxdpgun measured it.
    pub reply_pps: u64,
    /// Replies by response code (`NOERROR`, `NXDOMAIN`, ...).
    pub rcodes: BTreeMap<String, u64>,
    /// The full output, for failure messages and the benchmark record.
    pub text: String,
}

impl Summary {
    /// Share of queries answered, 0.0 to 1.0.
    pub fn answered(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.replies as f64 / self.sent as f64
        }
    }
}

/// Parses the lines kxdpgun prints at the end of a run:
///
/// ```text
/// total queries:     60010 (20003 pps)
/// total replies:     60010 (20003 pps) (100%)
/// responded NOERROR:   40007
/// ```
pub fn parse_summary(text: &str) -> Result<Summary, String> {
    let mut summary = Summary { text: text.to_string(), ..Summary::default() };
    let (mut saw_sent, mut saw_replies) = (false, false);
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("total queries:") {
            summary.sent = first_number(rest).ok_or_else(|| format!("bad line {line:?}"))?;
            saw_sent = true;
        } else if let Some(rest) = line.strip_prefix("total replies:") {
            summary.replies = first_number(rest).ok_or_else(|| format!("bad line {line:?}"))?;
            summary.reply_pps = rest
                .split_once('(')
                .and_then(|(_, pps)| first_number(pps))
                .ok_or_else(|| format!("bad line {line:?}"))?;
            saw_replies = true;
        } else if let Some(rest) = line.strip_prefix("responded ") {
            let (rcode, count) = rest.split_once(':').ok_or_else(|| format!("bad line {line:?}"))?;
            let count = first_number(count).ok_or_else(|| format!("bad line {line:?}"))?;
            summary.rcodes.insert(rcode.trim().to_string(), count);
        }
    }
    if !(saw_sent && saw_replies) {
        return Err(format!("no totals in kxdpgun's output:\n{text}"));
    }
    Ok(summary)
}

fn first_number(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "using interface rc1, XDP threads 1, UDP, native mode
thread#00: sent 60010, received 59990
total queries:     60010 (20003 pps)
total replies:     59990 (19996 pps) (99%)
average DNS reply size: 89 B
average Ethernet reply rate: 21016728 bps (21.02 Mbps)
responded NOERROR:   40007
responded NXDOMAIN:  19983
duration: 3 s
";

    #[test]
    fn reads_totals_and_rcodes() {
        let s = parse_summary(OUTPUT).unwrap();
        assert_eq!((s.sent, s.replies, s.reply_pps), (60010, 59990, 19996));
        assert_eq!(s.rcodes.get("NOERROR"), Some(&40007));
        assert_eq!(s.rcodes.get("NXDOMAIN"), Some(&19983));
        assert!((s.answered() - 59990.0 / 60010.0).abs() < 1e-12);
    }

    #[test]
    fn output_without_totals_is_an_error() {
        assert!(parse_summary("failed to initialize XDP socket\n").is_err());
        assert!(parse_summary("total queries:     10 (3 pps)\n").is_err(), "no replies line");
        assert!(parse_summary("total queries: x\ntotal replies: 1 (1 pps)\n").is_err());
        assert_eq!(Summary::default().answered(), 0.0);
    }
}
