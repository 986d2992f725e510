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

use super::fields::NO_ORIGIN;
use super::lexer::{EntryStart, Lexer, Token};
use super::name::Name;
use super::rdata::parse_rdata;
use super::record::{Location, Record};
use super::rtype::{class, RType};
use super::ttl::parse_ttl;
use super::ZoneError;

/// Include chains deeper than this are almost certainly a file including itself.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// RDATA is at most 65535 octets: its length travels in 16 bits.
const MAX_RDATA_LEN: usize = u16::MAX as usize;

pub struct Parser {
    origin: Option<Name>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
    warned_implicit_ttl: bool,
    records: Vec<Record>,
    warnings: Vec<String>,
    /// Reused for every record: RDATA is built here, then copied out at its exact size.
    rdata: Vec<u8>,
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
    pub fn new(origin: Option<&Name>) -> Parser {
        Parser {
            origin: origin.cloned(),
            default_ttl: None,
            last_ttl: None,
            last_owner: None,
            warned_implicit_ttl: false,
            records: Vec::new(),
            warnings: Vec::new(),
            rdata: Vec::with_capacity(512),
        }
    }

    /// Parses `text`, shown as `label` in messages; `$INCLUDE` paths are
    /// relative to `dir`. Stops at the first error.
    pub fn parse(&mut self, text: &[u8], label: &str, dir: &Path) -> Result<(), ZoneError> {
        self.parse_source(
            text,
            &Source {
                label,
                dir,
                depth: 0,
            },
        )
    }

    /// The records in file order, and the warnings so far.
    pub fn finish(self) -> (Vec<Record>, Vec<String>) {
        (self.records, self.warnings)
    }

    fn parse_source(&mut self, text: &[u8], source: &Source<'_>) -> Result<(), ZoneError> {
        let mut lexer = Lexer::new(text);
        let mut tokens: Vec<Token<'_>> = Vec::with_capacity(16);
        loop {
            let start = match lexer.next_entry(&mut tokens) {
                Ok(Some(start)) => start,
                Ok(None) => return Ok(()),
                Err(e) => return Err(error_at(source.label, e.line, e.message)),
            };
            let first = tokens[0];
            let result = if !first.quoted && first.text.starts_with(b"$") {
                self.directive(&tokens, start, source)
            } else {
                self.record(&tokens, start, source.label)
                    .map_err(|m| error_at(source.label, start.line, m))
            };
            result?;
        }
    }

    fn directive(
        &mut self,
        tokens: &[Token<'_>],
        start: EntryStart,
        source: &Source<'_>,
    ) -> Result<(), ZoneError> {
        let fail = |message: String| Err(error_at(source.label, start.line, message));
        let keyword = tokens[0];
        let args = &tokens[1..];
        if keyword.is("$ORIGIN") {
            let [name] = args else {
                return fail("$ORIGIN takes one domain name".into());
            };
            let origin = self
                .name(name, "$ORIGIN")
                .map_err(|m| error_at(source.label, start.line, m))?;
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
                Some(name) => Some(
                    self.name(name, "$INCLUDE origin")
                        .map_err(|m| error_at(source.label, start.line, m))?,
                ),
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
        if source.depth + 1 > MAX_INCLUDE_DEPTH {
            return fail(format!(
                "$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"
            ));
        }
        let Ok(relative) = std::str::from_utf8(file.text) else {
            return fail(format!(
                "$INCLUDE file name \"{}\" is not UTF-8",
                file.show()
            ));
        };
        let path: PathBuf = source.dir.join(relative);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) => return fail(format!("$INCLUDE cannot read {}: {e}", path.display())),
        };
        let label = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new("."));
        let saved_origin = self.origin.clone();
        if origin.is_some() {
            self.origin = origin;
        }
        let result = self.parse_source(
            &text,
            &Source {
                label: &label,
                dir,
                depth: source.depth + 1,
            },
        );
        self.origin = saved_origin;
        result
    }

    fn record(
        &mut self,
        tokens: &[Token<'_>],
        start: EntryStart,
        file: &str,
    ) -> Result<(), String> {
        let (header, rdata_tokens) = self.header(tokens, start)?;
        self.rdata.clear();
        parse_rdata(
            header.rtype,
            rdata_tokens,
            self.origin.as_ref(),
            &mut self.rdata,
        )?;
        if self.rdata.len() > MAX_RDATA_LEN {
            return Err(format!(
                "{}: RDATA is {} octets, more than {MAX_RDATA_LEN}",
                header.rtype,
                self.rdata.len()
            ));
        }
        let ttl = self.resolve_ttl(header.ttl, header.rtype, start, file)?;
        self.last_ttl = Some(ttl);
        self.records.push(Record {
            owner: header.owner,
            rtype: header.rtype,
            class: class::IN,
            ttl,
            rdata: self.rdata.as_slice().to_vec(),
            location: Location {
                file: file.to_string(),
                line: start.line,
            },
        });
        Ok(())
    }

    /// `[owner] [TTL] [class] type`, TTL and class in either order; returns
    /// the header and the RDATA fields after it.
    fn header<'t, 'a>(
        &mut self,
        tokens: &'t [Token<'a>],
        start: EntryStart,
    ) -> Result<(Header, &'t [Token<'a>]), String> {
        let mut i = 0;
        let owner = if start.owner_omitted {
            self.last_owner.clone().ok_or(
                "no owner name: the first record must name one (this line starts with a blank)",
            )?
        } else {
            i = 1;
            let owner = self.name(&tokens[0], "owner name")?;
            self.last_owner = Some(owner.clone());
            owner
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
        if rtype.is_meta() || rtype.0 == 0 {
            return Err(format!("{rtype} is a query type, not data"));
        }
        let record_class = record_class.unwrap_or(class::IN);
        if record_class != class::IN {
            return Err(format!(
                "class {} is not supported: only IN data can be served",
                class::to_text(record_class)
            ));
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
        let (ttl, source) = if let Some(previous) = self.last_ttl {
            (previous, "the previous record's TTL")
        } else if rtype == RType::SOA {
            let minimum = self.rdata.len().checked_sub(4).map(|at| &self.rdata[at..]);
            let minimum = minimum
                .and_then(|m| m.try_into().ok())
                .map(u32::from_be_bytes);
            (
                minimum.ok_or("SOA RDATA too short for MINIMUM")?,
                "the SOA MINIMUM",
            )
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
    ZoneError {
        location: Some(Location {
            file: file.to_string(),
            line,
        }),
        message,
    }
}
