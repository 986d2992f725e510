//! Asking with kdig (Knot's client): a second, independent decoder. Its JSON
//! output (RFC 8427) carries every record's RDATA as uncompressed hex, which
//! becomes the same [`Reply`] the hickory client produces.

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;

use crate::dns::{Edns, Question, Reply, Rr, Transport, CLASS_CH, CLASS_IN};
use crate::rdata;

/// Whether kdig is installed; tests that need it skip (or fail under CI) when not.
pub fn available() -> bool {
    Command::new("kdig").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Asks `question` with kdig over `transport`. kdig does not retry over TCP
/// after a truncated UDP answer (`+ignore`): tests want to see the TC bit.
pub fn ask(server: SocketAddr, transport: Transport, question: &Question) -> Result<Reply, String> {
    let mut cmd = Command::new("kdig");
    cmd.arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .args(["+json", "+norecurse", "+ignore", "+time=3", "+retry=0"])
        .arg(match transport {
            Transport::Udp => "+notcp",
            Transport::Tcp => "+tcp",
        });
    match question.edns {
        Some(e) => {
            cmd.arg(format!("+edns={}", e.version)).arg(format!("+bufsize={}", e.payload));
            if e.dnssec_ok {
                cmd.arg("+dnssec");
            }
        }
        None => {
            cmd.arg("+noedns");
        }
    }
    let class = match question.class {
        CLASS_IN => "IN".to_string(),
        CLASS_CH => "CH".to_string(),
        other => format!("CLASS{other}"),
    };
    cmd.args(["-c", &class, "-t", &rdata::type_name(question.qtype), "-q", &question.name]);
    let out = cmd.output().map_err(|e| format!("cannot run kdig: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}{}", stdout.trim(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    parse(&stdout).map_err(|e| format!("{cmd:?}: {e}\n{stdout}"))
}

/// Parses kdig's `+json` output.
pub fn parse(json: &str) -> Result<Reply, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("kdig output is not JSON: {e}"))?;
    let flag = |key: &str| v.get(key).and_then(Value::as_u64).map(|n| n != 0).ok_or(format!("no {key} in kdig output"));
    let mut rcode = v.get("RCODE").and_then(Value::as_u64).ok_or("no RCODE in kdig output")?;
    let mut edns = None;
    let mut additional = Vec::new();
    for rr in records(&v, "additionalRRs")? {
        if rr.rtype == 41 {
            // OPT: CLASS is the payload size, TTL holds extended rcode, version and DO.
            rcode |= u64::from(rr.ttl >> 24) << 4;
            edns = Some(Edns { payload: rr.class, dnssec_ok: rr.ttl & 0x8000 != 0, version: (rr.ttl >> 16) as u8 });
        } else {
            additional.push(rr);
        }
    }
    Ok(Reply {
        rcode: u16::try_from(rcode).map_err(|_| "RCODE out of range")?,
        aa: flag("AA")?,
        tc: flag("TC")?,
        answer: records(&v, "answerRRs")?,
        authority: records(&v, "authorityRRs")?,
        additional,
        edns,
    })
}

fn records(v: &Value, section: &str) -> Result<Vec<Rr>, String> {
    let Some(list) = v.get(section) else { return Ok(Vec::new()) };
    let list = list.as_array().ok_or(format!("{section} is not a list"))?;
    list.iter().map(|rr| record(rr).map_err(|e| format!("{section}: {e}: {rr}"))).collect()
}

fn record(rr: &Value) -> Result<Rr, String> {
    let num = |key: &str| rr.get(key).and_then(Value::as_u64).ok_or(format!("no {key}"));
    let small = |key: &str| num(key).and_then(|n| u16::try_from(n).map_err(|_| format!("{key} out of range")));
    let rdata = match rr.get("RDATAHEX").and_then(Value::as_str) {
        Some(hex) => rdata::unhex(hex).ok_or("bad RDATAHEX")?,
        None => Vec::new(),
    };
    if usize::from(small("RDLENGTH")?) != rdata.len() {
        return Err("RDLENGTH does not match RDATAHEX".into());
    }
    Ok(Rr {
        owner: rr.get("NAME").and_then(Value::as_str).ok_or("no NAME")?.to_string(),
        ttl: u32::try_from(num("TTL")?).map_err(|_| "TTL out of range")?,
        class: small("CLASS")?,
        rtype: small("TYPE")?,
        rdata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_opt() {
        let json = r#"{"RCODE": 0, "AA": 1, "TC": 0,
            "answerRRs": [{"NAME": "example.com.", "TYPE": 15, "CLASS": 1, "TTL": 3600,
                           "RDLENGTH": 20, "RDATAHEX": "000A046D61696C076578616D706C6503636F6D00"}],
            "additionalRRs": [{"NAME": ".", "TYPE": 41, "CLASS": 1232, "TTL": 16809984, "RDLENGTH": 0}]}"#;
        let r = parse(json).unwrap();
        assert_eq!(r.answer_text(), ["example.com. 3600 MX 10 mail.example.com."]);
        assert!(r.aa && !r.tc && r.additional.is_empty() && r.authority.is_empty());
        // TTL 0x01008000: extended rcode 1 (BADVERS with RCODE 0), version 0, DO.
        assert_eq!(r.rcode, 16);
        assert_eq!(r.edns, Some(Edns { payload: 1232, dnssec_ok: true, version: 0 }));
        assert!(parse(
            r#"{"RCODE": 0, "AA": 1, "TC": 0, "answerRRs": [{"NAME": ".", "TYPE": 1, "CLASS": 1,
            "TTL": 1, "RDLENGTH": 5, "RDATAHEX": "00"}]}"#
        )
        .is_err());
        assert!(parse("not json").is_err());
    }
}
