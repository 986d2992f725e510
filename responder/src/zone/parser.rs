//! Master-file entries → records (RFC 1035 §5.1, with BIND's extensions).
//!
//! Directives: `$ORIGIN`, `$TTL` (RFC 2308), `$INCLUDE file [origin]`.
//! A record line is `[owner] [TTL] [class] type RDATA`, TTL and class in
//! either order; a line starting with a blank reuses the previous owner.
//!
//! A record without a TTL takes, in this order:
//! 1. the `$TTL` in effect;
//! 2. the previous record's TTL (RFC 1035 §5.1: "the last explicitly stated value");
//! 3. for an SOA record, its own MINIMUM field (what BIND does);
//!
//! and it is an error otherwise. Falling back on 2 or 3 is warned about once,
//! because it makes a record's TTL depend on the line above it.

use std::path::{Path, PathBuf};

use super::error::ZoneError;
use super::fields::NO_ORIGIN;
use super::lexer::{EntryStart, Lexer, Token};
use super::name::Name;
use super::rdata::parse_rdata;
use super::reader::Reader;
use super::record::{FileName, Location, Record};
use super::rtype::{class, RType};
use super::small_bytes::SmallBytes;
use super::ttl::parse_ttl;

mod pieces;

/// Include chains deeper than this are almost certainly a file including itself.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// RDATA is at most 65535 octets: its length travels in 16 bits.
const MAX_RDATA_LEN: usize = u16::MAX as usize;

pub struct Parser {
    origin: Option<Name>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    warned_implicit_ttl: bool,
    /// The records of the parts parsed before `records`' (pieces joined,
    /// `pieces`), in order: joined by `finish`, once the text is gone.
    earlier: Vec<Vec<Record>>,
    records: Vec<Record>,
    warnings: Vec<String>,
    /// Reused for every record: RDATA is built here, then copied out at its exact size.
    rdata: Vec<u8>,
    /// Opens `$INCLUDE` files, within the zone's byte cap and directories.
    reader: Reader,
    /// The file name the last record's location shares.
    file: FileName,
    /// Parsing a piece of a file from an assumed start (`pieces`): what
    /// needs more from before the piece makes it give up.
    speculative: bool,
    gave_up: bool,
}

/// What precedes the RDATA of a record.
struct Header {
    owner: Name,
    ttl: Option<u32>,
    rtype: RType,
}

/// Where the text being parsed came from.
struct Source<'p> {
    /// As shown in messages and record locations.
    label: &'p str,
    /// Where `$INCLUDE` paths are resolved from.
    dir: &'p Path,
    depth: usize,
}

impl Parser {
    /// `origin`: the initial `$ORIGIN`, when the caller knows the zone name.
    pub fn new(origin: Option<&Name>, reader: Reader) -> Parser {
        Parser {
            origin: origin.cloned(),
            default_ttl: None,
            last_ttl: None,
            warned_implicit_ttl: false,
            earlier: Vec::new(),
            records: Vec::new(),
            warnings: Vec::new(),
            rdata: Vec::with_capacity(512),
            reader,
            file: FileName::from(""),
            speculative: false,
            gave_up: false,
        }
    }

    /// Parses `text`, shown as `label` in messages; `$INCLUDE` paths are
    /// relative to `dir`. Stops at the first error.
    pub fn parse(&mut self, text: &[u8], label: &str, dir: &Path) -> Result<(), ZoneError> {
        let source = Source { label, dir, depth: 0 };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if text.len() < pieces::PIECES_FROM || threads < 2 {
            return self.parse_source(text, &source);
        }
        self.parse_pieces(text, &source, threads, pieces::HEAD).map(drop)
    }

    /// The records in file order, and the warnings so far. The parts are
    /// joined here rather than as each piece joins, so that a caller that
    /// drops the text first holds the records and one part's copy at most,
    /// not the text as well (a big zone's load peaked in that join).
    pub fn finish(self) -> (Vec<Record>, Vec<String>) {
        let mut parts = self.earlier.into_iter().chain(std::iter::once(self.records));
        let mut all = parts.next().unwrap_or_default();
        let rest: Vec<Vec<Record>> = parts.collect();
        all.reserve_exact(rest.iter().map(Vec::len).sum());
        for mut part in rest {
            all.append(&mut part);
        }
        (all, self.warnings)
    }

    fn parse_source(&mut self, text: &[u8], source: &Source<'_>) -> Result<(), ZoneError> {
        self.parse_entries(&mut Lexer::new(text), source, None).map(drop)
    }

    /// Entries from `lexer` until the text ends (`Ok(false)`) or, with
    /// `stop`, until the next one would start at or past octet `stop`
    /// (`Ok(true)`).
    fn parse_entries(
        &mut self,
        lexer: &mut Lexer<'_>,
        source: &Source<'_>,
        stop: Option<usize>,
    ) -> Result<bool, ZoneError> {
        let mut tokens: Vec<Token<'_>> = Vec::with_capacity(16);
        loop {
            if stop.is_some_and(|stop| lexer.offset() >= stop) {
                return Ok(true);
            }
            let start = match lexer.next_entry(&mut tokens) {
                Ok(Some(start)) => start,
                Ok(None) => return Ok(false),
                Err(e) => return Err(error_at(source.label, e.line, e.message)),
            };
            let first = tokens[0];
            let result = if !first.quoted && first.text.starts_with(b"$") {
                self.directive(&tokens, start, source)
            } else {
                self.record(&tokens, start, source.label).map_err(|m| error_at(source.label, start.line, m))
            };
            result?;
        }
    }

    fn directive(&mut self, tokens: &[Token<'_>], start: EntryStart, source: &Source<'_>) -> Result<(), ZoneError> {
        let fail = |message: String| Err(error_at(source.label, start.line, message));
        let keyword = tokens[0];
        let args = &tokens[1..];
        if keyword.is("$ORIGIN") {
            let [name] = args else {
                return fail("$ORIGIN takes one domain name".into());
            };
            let origin = self.name(name, "$ORIGIN").map_err(|m| error_at(source.label, start.line, m))?;
            self.origin = Some(origin);
        } else if keyword.is("$TTL") {
            let [ttl] = args else {
                return fail("$TTL takes one value".into());
            };
            let ttl = parse_ttl(ttl.text).map_err(|m| error_at(source.label, start.line, m))?;
            self.default_ttl = Some(ttl);
        } else if keyword.is("$INCLUDE") {
            let (file, origin) = match args {
                [file] => (file, None),
                [file, origin] => (file, Some(origin)),
                _ => return fail("$INCLUDE takes a file name and an optional origin".into()),
            };
            let origin = match origin {
                Some(name) => {
                    Some(self.name(name, "$INCLUDE origin").map_err(|m| error_at(source.label, start.line, m))?)
                }
                None => None,
            };
            self.include(file, origin, start, source)?;
        } else if keyword.is("$GENERATE") {
            return fail("$GENERATE is not supported; expand it into records".into());
        } else {
            return fail(format!("unknown directive \"{}\"", keyword.show()));
        }
        Ok(())
    }

    /// Parses another file in place of the directive. Per RFC 1035 §5.1 the
    /// included file may change the origin, but the change ends with it.
    fn include(
        &mut self,
        file: &Token<'_>,
        origin: Option<Name>,
        start: EntryStart,
        source: &Source<'_>,
    ) -> Result<(), ZoneError> {
        let fail = |message: String| Err(error_at(source.label, start.line, message));
        if self.speculative {
            self.gave_up = true;
            return fail("$INCLUDE in a piece".into());
        }
        if source.depth + 1 > MAX_INCLUDE_DEPTH {
            return fail(format!("$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"));
        }
        let Ok(relative) = std::str::from_utf8(file.text) else {
            return fail(format!("$INCLUDE file name \"{}\" is not UTF-8", file.show()));
        };
        let path: PathBuf = source.dir.join(relative);
        let text = match self.reader.read_include(&path) {
            Ok(text) => text,
            Err(e) => return fail(format!("$INCLUDE {e}")),
        };
        let label = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new("."));
        let saved_origin = self.origin.clone();
        if origin.is_some() {
            self.origin = origin;
        }
        let result = self.parse_source(&text, &Source { label: &label, dir, depth: source.depth + 1 });
        self.origin = saved_origin;
        result
    }

    fn record(&mut self, tokens: &[Token<'_>], start: EntryStart, file: &str) -> Result<(), String> {
        let (header, rdata_tokens) = self.header(tokens, start)?;
        self.rdata.clear();
        parse_rdata(header.rtype, rdata_tokens, self.origin.as_ref(), &mut self.rdata)?;
        if self.rdata.len() > MAX_RDATA_LEN {
            return Err(format!("{}: RDATA is {} octets, more than {MAX_RDATA_LEN}", header.rtype, self.rdata.len()));
        }
        let ttl = self.resolve_ttl(header.ttl, header.rtype, start, file)?;
        self.last_ttl = Some(ttl);
        if *self.file != *file {
            self.file = FileName::from(file);
        }
        self.records.push(Record {
            owner: header.owner,
            rtype: header.rtype,
            class: class::IN,
            ttl,
            rdata: SmallBytes::new(&self.rdata),
            location: Location { file: self.file.clone(), line: start.line },
        });
        Ok(())
    }

    /// `[owner] [TTL] [class] type`, TTL and class in either order; returns
    /// the header and the RDATA fields after it.
    fn header<'t, 'a>(&self, tokens: &'t [Token<'a>], start: EntryStart) -> Result<(Header, &'t [Token<'a>]), String> {
        let mut i = 0;
        let owner = if start.owner_omitted {
            // The previous record's owner is the last one written out.
            let previous = self.records.last().map(|r| r.owner.clone());
            previous.ok_or("no owner name: the first record must name one (this line starts with a blank)")?
        } else {
            i = 1;
            self.name(&tokens[0], "owner name")?
        };
        let mut ttl = None;
        let mut record_class = None;
        while let Some(token) = tokens.get(i).filter(|t| !t.quoted) {
            if ttl.is_none() && token.text.first().is_some_and(u8::is_ascii_digit) {
                ttl = Some(parse_ttl(token.text)?);
            } else if let Some(c) = class_from(token.text).filter(|_| record_class.is_none()) {
                record_class = Some(c);
            } else {
                break;
            }
            i += 1;
        }
        let type_token = tokens.get(i).ok_or("missing record type")?;
        let rtype = std::str::from_utf8(type_token.text)
            .ok()
            .filter(|_| !type_token.quoted)
            .and_then(RType::from_text)
            .ok_or_else(|| format!("unknown record type \"{}\"", type_token.show()))?;
        if let Some(why) = rtype.not_data() {
            return Err(format!("{rtype} {why}"));
        }
        let record_class = record_class.unwrap_or(class::IN);
        if record_class != class::IN {
            return Err(format!("class {} is not supported: only IN data can be served", class::to_text(record_class)));
        }
        Ok((Header { owner, ttl, rtype }, &tokens[i + 1..]))
    }

    /// The TTL rule in the module documentation.
    fn resolve_ttl(
        &mut self,
        explicit: Option<u32>,
        rtype: RType,
        start: EntryStart,
        file: &str,
    ) -> Result<u32, String> {
        if let Some(ttl) = explicit.or(self.default_ttl) {
            return Ok(ttl);
        }
        if self.speculative {
            self.gave_up = true;
            return Err("a TTL from before the piece".into());
        }
        let (ttl, source) = if let Some(previous) = self.last_ttl {
            (previous, "the previous record's TTL")
        } else if rtype == RType::SOA {
            let minimum = self.rdata.len().checked_sub(4).map(|at| &self.rdata[at..]);
            let minimum = minimum.and_then(|m| m.try_into().ok()).map(u32::from_be_bytes);
            (minimum.ok_or("SOA RDATA too short for MINIMUM")?, "the SOA MINIMUM")
        } else {
            return Err("no TTL: give this record one or add a $TTL directive before it".into());
        };
        if !self.warned_implicit_ttl {
            self.warned_implicit_ttl = true;
            self.warnings.push(format!(
                "{file}:{}: no $TTL; records without a TTL use {source} ({ttl}) — add $TTL to be explicit",
                start.line
            ));
        }
        Ok(ttl)
    }

    /// A name in the current origin, or why it cannot be one.
    fn name(&self, token: &Token<'_>, what: &str) -> Result<Name, String> {
        match Name::parse_bytes(token.text, self.origin.as_ref()) {
            Ok(Some(name)) => Ok(name),
            Ok(None) => Err(format!("{what} \"{}\": {NO_ORIGIN}", token.show())),
            Err(e) => Err(format!("bad {what} \"{}\": {e}", token.show())),
        }
    }
}

fn class_from(text: &[u8]) -> Option<u16> {
    std::str::from_utf8(text).ok().and_then(class::from_text)
}

fn error_at(file: &str, line: usize, message: String) -> ZoneError {
    ZoneError { location: Some(Location { file: file.into(), line }), message }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::zone::test_support::TempDir;
    use crate::zone::{parse_str, Name, RType, Record, Zone, ZoneError};

    const HEAD: &str =
        "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n";

    fn name(text: &str) -> Name {
        Name::parse(text, None).unwrap().unwrap()
    }

    fn load(body: &str) -> Result<Zone, ZoneError> {
        parse_str(&format!("{HEAD}{body}"), "t.zone", None)
    }

    /// The records after HEAD's three.
    fn body(body: &str) -> Vec<Record> {
        load(body).unwrap_or_else(|e| panic!("{e}")).records.split_off(3)
    }

    fn error(body: &str) -> String {
        load(body).unwrap_err().to_string()
    }

    fn summary(records: &[Record]) -> Vec<(String, u32, RType, Vec<u8>)> {
        records.iter().map(|r| (r.owner.to_string(), r.ttl, r.rtype, r.rdata.to_vec())).collect()
    }

    #[test]
    fn owner_ttl_class_in_any_order_and_omitted() {
        let got =
            body("a 60 IN A 198.18.0.1\nb IN 60 A 198.18.0.2\nc IN A 198.18.0.3\nd 1h30m A 198.18.0.4\n\tTXT x\n");
        let a = |o: &str, ttl, last| (format!("{o}.example.com."), ttl, RType::A, vec![198, 18, 0, last]);
        assert_eq!(summary(&got[..4]), vec![a("a", 60, 1), a("b", 60, 2), a("c", 3600, 3), a("d", 5400, 4)]);
        // Omitted owner: the previous one; omitted TTL: $TTL, not the previous record's.
        assert_eq!(summary(&got[4..]), vec![("d.example.com.".into(), 3600, RType::TXT, b"\x01x".to_vec())]);
        assert!(got.iter().all(|r| r.class == crate::zone::class::IN));
    }

    #[test]
    fn relative_absolute_and_at_names() {
        let got = body("@ TXT apex\nwww TXT rel\nabs.example.com. TXT abs\nWWW.Sub TXT mixed\n");
        let owners: Vec<String> = got.iter().map(|r| r.owner.to_string()).collect();
        assert_eq!(owners, ["example.com.", "www.example.com.", "abs.example.com.", "WWW.Sub.example.com."]);
    }

    #[test]
    fn origin_directive_is_relative_to_the_previous_origin() {
        let got = body("$ORIGIN sub\nwww A 198.18.0.1\n$ORIGIN example.com.\nwww A 198.18.0.2\n");
        assert_eq!(got[0].owner, name("www.sub.example.com."));
        assert_eq!(got[1].owner, name("www.example.com."));
    }

    #[test]
    fn origin_from_the_caller() {
        let origin = name("example.com.");
        let text = "@ 60 SOA ns1 hostmaster 1 1 1 1 1\n@ 60 NS ns1\nns1 60 A 198.18.0.53\n";
        let zone = parse_str(text, "t.zone", Some(&origin)).unwrap();
        assert_eq!(zone.origin, origin);
        assert_eq!(zone.records[2].owner, name("ns1.example.com."));
    }

    #[test]
    fn escapes_in_owner_names() {
        let got = body("a\\.b TXT x\n\\065\\ c TXT y\n");
        assert_eq!(got[0].owner.wire(), b"\x03a.b\x07example\x03com\x00");
        assert_eq!(got[1].owner.wire(), b"\x03A c\x07example\x03com\x00");
    }

    #[test]
    fn parentheses_and_comments_span_lines() {
        let got = body("multi ( 300 ; ttl\n IN ; class\n TXT \"one\" ; first\n \"two\" )\nnext A 198.18.0.1\n");
        assert_eq!(
            summary(&got[..1]),
            vec![("multi.example.com.".into(), 300, RType::TXT, b"\x03one\x03two".to_vec())]
        );
        assert_eq!(got[1].location.line, 10);
    }

    #[test]
    fn generic_type_and_rdata_syntax() {
        let got = body("x TYPE65534 \\# 4 0a000001\nx TYPE1 \\# 4 c6120001\ny CLASS1 A 198.18.0.7\n");
        assert_eq!(summary(&got)[0], ("x.example.com.".into(), 3600, RType(65534), vec![10, 0, 0, 1]));
        assert_eq!((got[1].rtype, got[1].rdata.as_slice()), (RType::A, &[198, 18, 0, 1][..]));
        assert_eq!(got[2].rdata, [198, 18, 0, 7]);
    }

    #[test]
    fn ttl_default_prefers_dollar_ttl_then_previous_then_soa_minimum() {
        let text = "$ORIGIN example.com.\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ 7200 NS ns1\nns1 A 198.18.0.53\n$TTL 60\nwww A 198.18.0.1\n";
        let zone = parse_str(text, "t.zone", None).unwrap();
        let ttls: Vec<u32> = zone.records.iter().map(|r| r.ttl).collect();
        assert_eq!(ttls, [300, 7200, 7200, 60]);
        assert_eq!(
            zone.warnings,
            ["t.zone:2: no $TTL; records without a TTL use the SOA MINIMUM (300) — add $TTL to be explicit"]
        );
        let no_ttl = "$ORIGIN example.com.\n@ NS ns1\n";
        let err = parse_str(no_ttl, "t.zone", None).unwrap_err().to_string();
        assert_eq!(err, "t.zone:2: no TTL: give this record one or add a $TTL directive before it");
    }

    #[test]
    fn include_reads_relative_to_the_including_file_and_restores_origin() {
        let dir = TempDir::new("include");
        dir.write("main.zone", &format!("{HEAD}$INCLUDE sub/part.zone lab.example.com.\nafter A 198.18.0.9\n"));
        dir.write(
            "sub/part.zone",
            "@ A 198.18.0.1\n$ORIGIN other.example.com.\nx A 198.18.0.2\n$INCLUDE deeper.zone\n",
        );
        dir.write("sub/deeper.zone", "y A 198.18.0.3\n");
        let zone = crate::zone::load_file(&dir.path("main.zone"), None).unwrap();
        let got: Vec<(String, usize)> =
            zone.records[3..].iter().map(|r| (r.owner.to_string(), r.location.line)).collect();
        assert_eq!(
            got,
            [
                ("lab.example.com.".into(), 1),
                ("x.other.example.com.".into(), 3),
                ("y.other.example.com.".into(), 1),
                ("after.example.com.".into(), 7)
            ]
        );
        assert_eq!(Path::new(&*zone.records[5].location.file), dir.path("sub/deeper.zone"));
    }

    #[test]
    fn include_errors_name_the_directive_line() {
        let dir = TempDir::new("include-errors");
        dir.write("loop.zone", &format!("{HEAD}$INCLUDE loop.zone\n"));
        let err = crate::zone::load_file(&dir.path("loop.zone"), None).unwrap_err().to_string();
        assert!(err.contains("loop.zone:6: $INCLUDE nested more than 10 deep"), "{err}");
        dir.write("missing.zone", &format!("{HEAD}$INCLUDE nothere.zone\n"));
        let err = crate::zone::load_file(&dir.path("missing.zone"), None).unwrap_err().to_string();
        assert!(err.contains("missing.zone:6: $INCLUDE cannot read ") && err.contains("nothere.zone"), "{err}");
        dir.write("bad.zone", &format!("{HEAD}$INCLUDE part.zone\n"));
        dir.write("part.zone", "ok A 198.18.0.1\nbroken A 1.2.3\n");
        let err = crate::zone::load_file(&dir.path("bad.zone"), None).unwrap_err().to_string();
        assert!(err.ends_with("part.zone:2: bad IPv4 address \"1.2.3\""), "{err}");
    }

    #[test]
    fn include_outside_the_zone_directory_is_refused_and_never_read() {
        let dir = TempDir::new("include-confined");
        dir.write("secret.zone", "leak A 198.18.0.66\nsecret-token TXT hidden\n");
        dir.write("zones/main.zone", &format!("{HEAD}$INCLUDE ../secret.zone\n"));
        let err = crate::zone::load_file(&dir.path("zones/main.zone"), None).unwrap_err().to_string();
        assert!(err.contains("main.zone:6: $INCLUDE ") && err.contains("../secret.zone is outside "), "{err}");
        assert!(!err.contains("leak") && !err.contains("secret-token"), "the refused file is echoed: {err}");
        dir.write("zones/main.zone", &format!("{HEAD}$INCLUDE /etc/passwd\n"));
        let err = crate::zone::load_file(&dir.path("zones/main.zone"), None).unwrap_err().to_string();
        assert!(err.contains("main.zone:6: $INCLUDE /etc/passwd is outside "), "{err}");
        let limits = crate::zone::ReadLimits { include_dirs: vec![dir.root().to_path_buf()], ..Default::default() };
        dir.write("zones/main.zone", &format!("{HEAD}$INCLUDE ../secret.zone\n"));
        let zone = crate::zone::load_file_with(&dir.path("zones/main.zone"), None, &limits).unwrap();
        assert_eq!(
            zone.records.last().unwrap().owner.to_string(),
            "secret-token.example.com.",
            "allowed by the config"
        );
    }

    /// One test per kind of mistake: each names the line the record starts on.
    #[test]
    fn malformed_files_report_file_line_and_cause() {
        let cases: &[(&str, &str)] = &[
            ("www A 1.2.3\n", "t.zone:6: bad IPv4 address \"1.2.3\""),
            ("www 1x A 198.18.0.1\n", "t.zone:6: TTL \"1x\" is not a number"),
            ("www 99999999999 A 198.18.0.1\n", "t.zone:6: TTL \"99999999999\" is not a number"),
            ("mx MX 10\n", "t.zone:6: MX: missing exchange name"),
            ("www FOO 1\n", "t.zone:6: unknown record type \"FOO\""),
            ("www 60 IN\n", "t.zone:6: missing record type"),
            ("www ANY 1\n", "t.zone:6: ANY is a query type, not data"),
            ("www CH TXT x\n", "t.zone:6: class CH is not supported: only IN data can be served"),
            ("www CLASS9 TXT x\n", "t.zone:6: class CLASS9 is not supported: only IN data can be served"),
            ("a..b A 198.18.0.1\n", "t.zone:6: bad owner name \"a..b\": empty label"),
            ("x TXT \"open\n", "t.zone:6: quoted string is not closed on its line"),
            ("x TXT ( a\n b\n", "t.zone:6: '(' is never closed"),
            ("x TXT a )\n", "t.zone:6: ')' without a matching '('"),
            ("x SOA ( ns1 host\n 1 2 3\n 4 x )\n", "t.zone:6: SOA: bad minimum \"x\""),
            ("x TYPE65534 \\# 2 00\n", "t.zone:6: TYPE65534: generic RDATA is 1 octets but its length says 2"),
            ("$FOO bar\n", "t.zone:6: unknown directive \"$FOO\""),
            ("$GENERATE 1-2 x A 1.2.3.$\n", "t.zone:6: $GENERATE is not supported; expand it into records"),
            ("$TTL\n", "t.zone:6: $TTL takes one value"),
            ("$TTL 1 2\n", "t.zone:6: $TTL takes one value"),
            ("$ORIGIN\n", "t.zone:6: $ORIGIN takes one domain name"),
            ("$INCLUDE\n", "t.zone:6: $INCLUDE takes a file name and an optional origin"),
        ];
        for (text, want) in cases {
            assert_eq!(error(text), *want, "for {text:?}");
        }
    }

    #[test]
    fn relative_names_need_an_origin() {
        let hint = "relative name but no $ORIGIN; give the zone as NAME=FILE or add $ORIGIN";
        let cases = [
            ("$TTL 60\nwww A 198.18.0.1\n", format!("t.zone:2: owner name \"www\": {hint}")),
            ("$TTL 60\n@ A 198.18.0.1\n", format!("t.zone:2: owner name \"@\": {hint}")),
            ("$TTL 60\nexample.com. MX 1 mail\n", format!("t.zone:2: MX: exchange name \"mail\": {hint}")),
            ("$ORIGIN sub\n", format!("t.zone:1: $ORIGIN \"sub\": {hint}")),
        ];
        for (text, want) in cases {
            assert_eq!(parse_str(text, "t.zone", None).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn first_record_needs_an_owner() {
        let err = parse_str("$ORIGIN example.com.\n  A 198.18.0.1\n", "t.zone", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.zone:2: no owner name: the first record must name one (this line starts with a blank)"
        );
    }

    #[test]
    fn rdata_longer_than_65535_octets_is_refused() {
        let string = format!("\"{}\" ", "z".repeat(255));
        let err = error(&format!("big TXT {}\n", string.repeat(257)));
        assert_eq!(err, "t.zone:6: TXT: RDATA is 65792 octets, more than 65535");
    }
}
