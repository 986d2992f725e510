//! How much bigger than its query can an answer be? Every zone under
//! `zones/` is compiled and asked, through the real engine, every question
//! that can reach a distinct kind of answer: each type present at each name,
//! ANY, a type absent (NODATA), a child of every name (NXDOMAIN, wildcard
//! synthesis, referral, DNAME) — each without EDNS, with EDNS 1232, and with
//! EDNS 4096 and DO.
//!
//! Every answer must stay within its limit (512 octets without EDNS, the
//! smaller of the client's and our EDNS size with it), a truncated answer
//! must carry the question only, and ANY must get one RRset (RFC 8482). The
//! largest amplification factors are printed:
//!
//! ```sh
//! cargo test -p responder --test amplification -- --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hickory_proto::op::Message;
use responder::engine::{answer_message, Engine, Options, Transport};
use responder::table::Table;
use responder::zone::{self, Name, RType, Zone};

/// IPv4 (no options) and UDP headers: what each datagram costs on the wire
/// above its DNS message, and so what a reflection attack really multiplies.
const IP_UDP_OVERHEAD: usize = 20 + 8;
/// Without EDNS a UDP answer may not exceed this (RFC 1035 §4.2.1).
const CLASSIC_LIMIT: usize = 512;
/// A private-use type (RFC 6895) no zone here has: always NODATA or NXDOMAIN.
const ABSENT_TYPE: u16 = 65280;
const CLASS_IN: u16 = 1;
const FLAG_TC: u16 = 0x0200;
/// How many of the largest factors to print.
const TOP: usize = 12;

/// The three ways a client can ask over UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Form {
    NoEdns,
    Edns1232,
    Edns4096Do,
}

impl Form {
    const ALL: [Form; 3] = [Form::NoEdns, Form::Edns1232, Form::Edns4096Do];

    /// The client's advertised size and DO bit, when it sends OPT.
    fn edns(self) -> Option<(u16, bool)> {
        match self {
            Form::NoEdns => None,
            Form::Edns1232 => Some((1232, false)),
            Form::Edns4096Do => Some((4096, true)),
        }
    }

    /// The largest answer allowed for this form from a server advertising `ours`.
    fn limit(self, ours: u16) -> usize {
        match self.edns() {
            None => CLASSIC_LIMIT,
            Some((theirs, _)) => theirs.min(ours.max(512)) as usize,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Form::NoEdns => "no EDNS",
            Form::Edns1232 => "EDNS 1232",
            Form::Edns4096Do => "EDNS 4096 DO",
        }
    }
}

/// One question asked and what it got.
#[derive(Clone, Debug)]
struct Sample {
    zones: String,
    qname: String,
    qtype: u16,
    form: Form,
    query_len: usize,
    answer_len: usize,
    truncated: bool,
}

impl Sample {
    fn dns_factor(&self) -> f64 {
        self.answer_len as f64 / self.query_len as f64
    }

    fn ip_factor(&self) -> f64 {
        (self.answer_len + IP_UDP_OVERHEAD) as f64 / (self.query_len + IP_UDP_OVERHEAD) as f64
    }

    fn row(&self) -> String {
        format!(
            "{:>6.2} {:>6.2} {:>5} {:>5} {:<3} {:<13} {:<10} {} ({})",
            self.dns_factor(),
            self.ip_factor(),
            self.query_len,
            self.answer_len,
            if self.truncated { "TC" } else { "" },
            self.form.label(),
            type_name(self.qtype),
            self.qname,
            self.zones,
        )
    }
}

fn type_name(t: u16) -> String {
    RType(t).to_string()
}

fn zones_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../zones")
}

fn zone_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("zones/ is readable").map(|e| e.expect("directory entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            zone_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "zone") {
            out.push(path);
        }
    }
}

/// Every zone file that is a zone on its own, each served alone, and the
/// zones of each directory holding several served together (a parent with
/// its child answers differently from either alone). A file that does not
/// load must be an `$INCLUDE` fragment of one that does, so a zone that
/// breaks cannot silently drop out of the measurement.
fn zone_sets() -> Vec<(String, Vec<Zone>)> {
    let root = zones_dir();
    let mut files = Vec::new();
    zone_files(&root, &mut files);
    let mut loaded: BTreeMap<PathBuf, Vec<(PathBuf, Zone)>> = BTreeMap::new();
    let mut fragments = Vec::new();
    let mut texts = String::new();
    for path in &files {
        texts.push_str(&std::fs::read_to_string(path).expect("zone file is readable"));
        match zone::load_file(path, None) {
            Ok(z) => loaded.entry(path.parent().unwrap().to_path_buf()).or_default().push((path.clone(), z)),
            Err(e) => fragments.push((path.clone(), e)),
        }
    }
    for (path, err) in &fragments {
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(
            texts.lines().any(|l| l.trim_start().starts_with("$INCLUDE") && l.contains(name.as_ref())),
            "{} does not load and is not $INCLUDEd anywhere: {err}",
            path.display()
        );
    }
    let relative = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let mut sets = Vec::new();
    for (dir, zones) in loaded {
        for (path, z) in &zones {
            sets.push((relative(path), vec![z.clone()]));
        }
        if zones.len() > 1 {
            sets.push((format!("{}/*", relative(&dir)), zones.into_iter().map(|(_, z)| z).collect()));
        }
    }
    assert!(sets.len() >= 4, "expected the bundled and test zones, found {}", sets.len());
    sets
}

/// The names worth asking about in `zones`, with the types to ask for each:
/// every owner and every name between it and its apex (empty non-terminals)
/// with every type in the zone set, ANY and an absent type; and `a.` below
/// each of them, the shortest child, which reaches NXDOMAIN, wildcard
/// synthesis, referrals and DNAME substitution wherever they apply.
fn probes(zones: &[Zone]) -> BTreeMap<Name, BTreeSet<u16>> {
    let mut types: BTreeSet<u16> = zones.iter().flat_map(|z| &z.records).map(|r| r.rtype.0).collect();
    types.extend([RType::ANY.0, ABSENT_TYPE]);
    let mut names = BTreeSet::new();
    for z in zones {
        for r in &z.records {
            let mut name = Some(r.owner.clone());
            while let Some(n) = name {
                if !n.is_subdomain_of(&z.origin) {
                    break;
                }
                name = n.parent();
                names.insert(n);
            }
        }
    }
    let children: Vec<Name> = names.iter().filter_map(|n| n.prepend(b"a").ok()).collect();
    names.extend(children);
    names.into_iter().map(|n| (n, types.clone())).collect()
}

fn query(qname: &Name, qtype: u16, edns: Option<(u16, bool)>) -> Vec<u8> {
    // ID, flags (RD), QDCOUNT 1, ARCOUNT 1 with OPT: the smallest a real
    // client sends, so the factors are the largest an attacker can get.
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns.is_some() as u8];
    q.extend_from_slice(qname.wire());
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    if let Some((size, dnssec_ok)) = edns {
        q.push(0); // root owner
        q.extend_from_slice(&RType::OPT.0.to_be_bytes());
        q.extend_from_slice(&size.to_be_bytes());
        q.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
        q.extend_from_slice(&[0, 0]);
    }
    q
}

/// Asks one question over UDP and checks the answer keeps every size promise.
fn ask(engine: &Engine, label: &str, qname: &Name, qtype: u16, form: Form) -> Sample {
    let q = query(qname, qtype, form.edns());
    let what = format!("{qname} {} {} ({label})", type_name(qtype), form.label());
    // A buffer far larger than any limit: only the engine's own bounds apply.
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(&q);
    let n = answer_message(engine, &mut buf, q.len(), Transport::Udp)
        .unwrap_or_else(|| panic!("{what}: a well-formed query got no answer"));
    let a = &buf[..n];
    let limit = form.limit(engine.options().edns_udp_size);
    assert!(n <= limit, "{what}: {n}-octet answer over its {limit}-octet limit");
    let m = Message::from_vec(a).unwrap_or_else(|e| panic!("{what}: answer does not decode: {e}"));
    let question_end = q.len() - if form.edns().is_some() { 11 } else { 0 };
    assert_eq!(&a[12..question_end], &q[12..question_end], "{what}: question not echoed");
    let truncated = u16::from_be_bytes([a[2], a[3]]) & FLAG_TC != 0;
    if truncated {
        assert!(
            m.answers().is_empty() && m.name_servers().is_empty() && m.additionals().is_empty(),
            "{what}: a truncated answer carries the question (and OPT) only"
        );
        assert_eq!(n, question_end + if form.edns().is_some() { 11 } else { 0 }, "{what}: truncated answer size");
    }
    assert_eq!(m.extensions().is_some(), form.edns().is_some(), "{what}: OPT in the answer iff in the query");
    if qtype == RType::ANY.0 {
        // One RRset per owner (RFC 8482). Below a DNAME the answer also
        // holds the DNAME, the CNAME synthesised from it and what the chase
        // finds at the new name (RFC 6672), which may be a CNAME of its own:
        // a chain bounded by the hop limit, each name with one RRset.
        let mut rrsets: std::collections::BTreeMap<String, BTreeSet<u16>> = std::collections::BTreeMap::new();
        for r in m.answers() {
            let t = u16::from(r.record_type());
            if t != RType::DNAME.0 {
                rrsets.entry(r.name().to_string().to_ascii_lowercase()).or_default().insert(t);
            }
        }
        assert!(
            rrsets.values().all(|types| types.len() <= 1),
            "{what}: ANY must be answered with one RRset per name (RFC 8482), got {rrsets:?}"
        );
    }
    Sample {
        zones: label.to_string(),
        qname: qname.to_string(),
        qtype,
        form,
        query_len: q.len(),
        answer_len: n,
        truncated,
    }
}

/// Every probe of every zone set, in every form, through an engine with `options`.
fn measure(options: &Options) -> Vec<Sample> {
    let mut samples = Vec::new();
    for (label, zones) in zone_sets() {
        let table = Table::compile(&zones).unwrap_or_else(|e| panic!("{label}: {e}"));
        let engine = Engine::new(table, options.clone());
        for (name, types) in probes(&zones) {
            for &qtype in &types {
                for form in Form::ALL {
                    samples.push(ask(&engine, &label, &name, qtype, form));
                }
            }
        }
    }
    samples
}

fn largest(samples: &[Sample], form: Option<Form>) -> Vec<&Sample> {
    let mut picked: Vec<&Sample> = samples.iter().filter(|s| form.is_none_or(|f| s.form == f)).collect();
    picked.sort_by(|a, b| b.dns_factor().total_cmp(&a.dns_factor()).then(a.qname.cmp(&b.qname)));
    picked
}

/// The largest factors, one row per question and form (the same zone served
/// in two sets would otherwise fill the table twice), then the largest of
/// each form. Built whole and printed at once: tests run in parallel.
fn report(title: &str, samples: &[Sample]) -> String {
    let mut out = format!("\n{title}: {} questions\n", samples.len());
    out += &format!(
        "{:>6} {:>6} {:>5} {:>5} {:<3} {:<13} {:<10} question (zones)\n",
        "DNS×", "IP×", "query", "answer", "", "form", "type"
    );
    let mut seen = BTreeSet::new();
    let distinct = largest(samples, None)
        .into_iter()
        .filter(|s| seen.insert((s.qname.to_ascii_lowercase(), s.qtype, s.form)))
        .take(TOP);
    for s in distinct {
        out += &s.row();
        out.push('\n');
    }
    for form in Form::ALL {
        let s = largest(samples, Some(form))[0];
        out += &format!("largest with {}: {:.2}× DNS, {:.2}× IP\n", form.label(), s.dns_factor(), s.ip_factor());
    }
    let sets: BTreeSet<&str> = samples.iter().map(|s| s.zones.as_str()).collect();
    for set in sets {
        let mine: Vec<Sample> = samples.iter().filter(|s| s.zones == set).cloned().collect();
        let (plain, edns) = (largest(&mine, Some(Form::NoEdns))[0], largest(&mine, Some(Form::Edns4096Do))[0]);
        out += &format!(
            "{set}: largest {:.2}× DNS / {:.2}× IP without EDNS ({} {}), {:.2}× / {:.2}× with EDNS ({} {})\n",
            plain.dns_factor(),
            plain.ip_factor(),
            plain.qname,
            type_name(plain.qtype),
            edns.dns_factor(),
            edns.ip_factor(),
            edns.qname,
            type_name(edns.qtype),
        );
    }
    out
}

#[test]
fn every_answer_stays_within_its_size_limit_and_amplification_is_bounded() {
    let samples = measure(&Options::default());
    eprint!("{}", report("default options (--edns-size 1232)", &samples));
    // The limits themselves are checked on every answer in `ask`; here,
    // that the probes reached the answers the limits are about.
    let kinds: BTreeSet<bool> = samples.iter().map(|s| s.truncated).collect();
    assert_eq!(kinds.len(), 2, "the zones must exercise both whole and truncated answers");
}

#[test]
fn a_larger_advertised_edns_size_raises_only_the_edns_bound() {
    let options = Options { edns_udp_size: 4096, ..Options::default() };
    let samples = measure(&options);
    eprint!("{}", report("--edns-size 4096", &samples));
    let defaults = measure(&Options::default());
    let worst = |s: &[Sample], f| largest(s, Some(f))[0].answer_len;
    assert_eq!(worst(&samples, Form::NoEdns), worst(&defaults, Form::NoEdns), "no-EDNS answers ignore --edns-size");
    assert!(worst(&samples, Form::Edns1232) <= 1232, "the client's smaller size still wins");
}

/// A zone built to amplify: at names `1.t.` to `64.t.`, TXT RRsets of 1 to
/// 64 records of 72 octets each, so some answer lands within one record of
/// every limit. Whatever an operator loads, an answer is bounded by its
/// limit, and so the factor by limit / smallest query.
#[test]
fn a_zone_built_to_amplify_is_held_to_the_limits() {
    const RECORDS: usize = 64;
    /// On the wire: compressed owner 2, fixed fields 10, one 59-octet string 60.
    const RECORD_LEN: usize = 72;
    let mut text = String::from("$ORIGIN t.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.0.1\n");
    for n in 1..=RECORDS {
        for i in 0..n {
            text += &format!("{n} TXT \"{i:02}{}\"\n", "x".repeat(57));
        }
    }
    let zone = zone::parse_str(&text, "amplify.zone", None).expect("generated zone loads");
    for ours in [1232, 4096] {
        let options = Options { edns_udp_size: ours, ..Options::default() };
        let engine = Engine::new(Table::compile(std::slice::from_ref(&zone)).unwrap(), options);
        let mut samples = Vec::new();
        for n in 1..=RECORDS {
            let qname = Name::parse(&format!("{n}.t."), None).unwrap().unwrap();
            for qtype in [RType::TXT.0, RType::ANY.0] {
                for form in Form::ALL {
                    samples.push(ask(&engine, "amplify.zone", &qname, qtype, form));
                }
            }
        }
        eprint!("{}", report(&format!("a zone built to amplify, --edns-size {ours}"), &samples));
        for form in Form::ALL {
            let worst = largest(&samples, Some(form))[0];
            // The smallest query for this zone: header, "1.t." (5 octets), type and class, OPT.
            let smallest_query = 12 + 5 + 4 + if form.edns().is_some() { 11 } else { 0 };
            let limit = form.limit(ours);
            let ceiling = limit as f64 / smallest_query as f64;
            assert!(worst.dns_factor() <= ceiling, "{form:?}: {:.2}× above {ceiling:.2}×", worst.dns_factor());
            // The zone does reach the limit: the bound is met, not avoided by luck.
            let fullest = samples.iter().filter(|s| s.form == form).map(|s| s.answer_len).max().unwrap();
            assert!(fullest + RECORD_LEN > limit, "{form:?}: fullest answer {fullest}, limit {limit}");
        }
        assert!(samples.iter().any(|s| s.truncated), "the over-size RRsets must truncate");
    }
}
