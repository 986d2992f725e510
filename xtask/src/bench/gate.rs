//! The correctness gate: before a server is measured, a sample of the
//! benchmark's queries is asked with kdig and each answer's rcode, answer
//! count and AA bit compared with what any correct authoritative server
//! gives. A server that fails is reported as failed and not ranked, so a
//! fast wrong answer cannot win.

use std::process::Command;

use super::bed::BenchBed;
use super::plan::ServerKind;
use super::workload::{Expected, Query, ORIGIN};
use crate::testbed::SERVER_V4;

/// The floor answers everything REFUSED with the question only.
const FLOOR_REPLY: Expected = Expected { rcode: "REFUSED", answers: 0, authoritative: false };

/// What kdig's header said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub rcode: String,
    pub answers: u16,
    pub authoritative: bool,
}

/// Parses kdig's header lines:
///
/// ```text
/// ;; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 6048
/// ;; Flags: qr aa; QUERY: 1; ANSWER: 2; AUTHORITY: 0; ADDITIONAL: 1
/// ```
pub fn parse_header(kdig_output: &str) -> Option<Header> {
    let mut rcode = None;
    let mut flags = None;
    for line in kdig_output.lines() {
        if line.contains("->>HEADER<<-") {
            rcode = line.split("status:").nth(1).and_then(|rest| rest.split(';').next()).map(|s| s.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix(";; Flags:") {
            flags = Some(rest.to_owned());
        }
    }
    let flags = flags?;
    let (flag_words, counts) = flags.split_once(';')?;
    let answers =
        counts.split(';').find_map(|part| part.trim().strip_prefix("ANSWER:")).and_then(|n| n.trim().parse().ok())?;
    Some(Header {
        rcode: rcode.filter(|r| !r.is_empty())?,
        answers,
        authoritative: flag_words.split_whitespace().any(|f| f == "aa"),
    })
}

fn kdig(bed: &BenchBed, name: &str, rtype: &str, edns: bool, dnssec_ok: bool) -> Command {
    let mut cmd = bed.bed.client_command("kdig");
    cmd.arg(format!("@{SERVER_V4}"))
        .args(["-t", rtype, "-q", name])
        .args(["+noall", "+header", "+notcp", "+ignore", "+time=1", "+retry=1"])
        .arg(if edns { "+edns" } else { "+noedns" });
    if dnssec_ok {
        cmd.arg("+dnssec");
    }
    cmd
}

fn ask(bed: &BenchBed, name: &str, rtype: &str, edns: bool, dnssec_ok: bool) -> Result<Header, String> {
    let out = kdig(bed, name, rtype, edns, dnssec_ok).output().map_err(|e| format!("cannot run kdig: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_header(&text).ok_or_else(|| {
        format!("no answer to {name} {rtype}: {}{}", text.trim(), String::from_utf8_lossy(&out.stderr).trim())
    })
}

/// Whether the server answers the zone's SOA (the floor: anything at all).
pub fn probe(bed: &BenchBed, kind: ServerKind) -> bool {
    match ask(bed, ORIGIN, "SOA", false, false) {
        Ok(header) => kind.is_floor() || (header.rcode == "NOERROR" && header.answers == 1),
        Err(_) => false,
    }
}

/// The answer `kind` must give to `query`.
pub fn expected(kind: ServerKind, query: &Query) -> Expected {
    if kind.is_floor() {
        FLOOR_REPLY
    } else {
        query.expected
    }
}

/// Compares one header with what was expected; `None` when it matches.
pub fn mismatch(query: &Query, want: Expected, got: &Header) -> Option<String> {
    let ok = got.rcode == want.rcode && got.answers == want.answers && got.authoritative == want.authoritative;
    (!ok).then(|| {
        format!(
            "{} {}: got {} with {} answer(s){}, want {} with {}{}",
            query.name,
            query.rtype,
            got.rcode,
            got.answers,
            if got.authoritative { " AA" } else { "" },
            want.rcode,
            want.answers,
            if want.authoritative { " AA" } else { "" }
        )
    })
}

/// Evenly spaced queries from the mix, at most `count`.
pub fn sample(queries: &[Query], count: usize) -> Vec<&Query> {
    let step = (queries.len() / count.max(1)).max(1);
    queries.iter().step_by(step).take(count).collect()
}

/// Asks the sample; returns the problems found (empty: passed).
pub fn check(bed: &BenchBed, kind: ServerKind, queries: &[Query], count: usize) -> Vec<String> {
    sample(queries, count)
        .into_iter()
        .filter_map(|q| match ask(bed, &q.name, q.rtype, q.edns, q.dnssec_ok) {
            Ok(header) => mismatch(q, expected(kind, q), &header),
            Err(e) => Some(e),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOERROR_AA: &str = ";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 6048\n\
                              ;; Flags: qr aa rd; QUERY: 1; ANSWER: 2; AUTHORITY: 0; ADDITIONAL: 1\n";

    #[test]
    fn header_fields_from_kdig() {
        assert_eq!(parse_header(NOERROR_AA), Some(Header { rcode: "NOERROR".into(), answers: 2, authoritative: true }));
        let referral = ";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 1\n\
                        ;; Flags: qr; QUERY: 1; ANSWER: 0; AUTHORITY: 1; ADDITIONAL: 1\n";
        assert_eq!(parse_header(referral), Some(Header { rcode: "NOERROR".into(), answers: 0, authoritative: false }));
        assert_eq!(parse_header(";; WARNING: failed to query server 198.18.0.1@53(UDP)\n"), None);
        assert_eq!(parse_header(";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 1\n"), None, "no flags line");
    }

    #[test]
    fn a_wrong_count_rcode_or_aa_is_a_mismatch() {
        let query =
            |expected| Query { name: "h1.bench.test.".into(), rtype: "A", edns: false, dnssec_ok: false, expected };
        let want = Expected { rcode: "NOERROR", answers: 2, authoritative: true };
        let got = parse_header(NOERROR_AA).unwrap();
        assert_eq!(mismatch(&query(want), want, &got), None);
        for wrong in [
            Expected { answers: 1, ..want },
            Expected { rcode: "NXDOMAIN", ..want },
            Expected { authoritative: false, ..want },
        ] {
            let problem = mismatch(&query(wrong), wrong, &got).expect("must not match");
            assert!(problem.starts_with("h1.bench.test. A: got NOERROR with 2 answer(s) AA"), "{problem}");
        }
        assert_eq!(expected(ServerKind::Floor, &query(want)), FLOOR_REPLY);
        assert_eq!(expected(ServerKind::Nsd, &query(want)), want);
    }

    #[test]
    fn sample_spreads_over_the_mix() {
        let qs: Vec<Query> = super::super::workload::queries(100, 1000, 1);
        let picked = sample(&qs, 10);
        assert_eq!(picked.len(), 10);
        assert_eq!(picked[1], &qs[100]);
        assert_eq!(sample(&qs[..3], 10).len(), 3);
    }
}
