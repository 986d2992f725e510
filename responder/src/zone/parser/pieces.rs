//! A big zone file parsed on several cores. The file is cut at line starts
//! where an entry most likely begins; each piece after the first is parsed
//! on its own thread from the state the last `$ORIGIN` and `$TTL` lines
//! before its cut most likely set (else the state the file's head left). A piece's records are kept only if the parse before it ended
//! exactly at its cut, between entries, in that same state, and the piece
//! needed nothing else from before it (the previous record's TTL, a
//! `$INCLUDE`): then its entries are the ones one pass would have read, read
//! the same way. Otherwise the rest of the file is parsed in one pass from
//! where the good part ends. Either way the records, the warnings and the
//! first error (its `file:line` included) are one pass's.

use std::path::Path;

use super::{Lexer, Name, Parser, Source, ZoneError};
use crate::zone::reader::{ReadLimits, Reader};

/// Files smaller than this are parsed in one pass: a thread would cost
/// more than it saves.
pub(super) const PIECES_FROM: usize = 8 << 20;

/// The part of the file parsed before the pieces start: the state they
/// start from is read at its end.
pub(super) const HEAD: usize = 64 << 10;

/// How far past its ideal place a cut is looked for.
const CUT_SEARCH: usize = 1 << 20;

/// The state a piece starts from: what the head's directives set.
struct Start {
    origin: Option<Name>,
    default_ttl: Option<u32>,
}

impl Start {
    /// `parser` is in this state (the origin compared octet for octet: its
    /// case goes into the names completed with it).
    fn holds_for(&self, parser: &Parser) -> bool {
        parser.origin.as_ref().map(Name::wire) == self.origin.as_ref().map(Name::wire)
            && parser.default_ttl == self.default_ttl
    }
}

/// A piece parsed on its own, and where its parse ended.
struct Piece {
    /// The state it assumed.
    start: Start,
    parser: Parser,
    /// `Ok(true)`: it stopped at or past the next cut, between entries.
    result: Result<bool, ZoneError>,
    offset: usize,
    line: usize,
}

impl Parser {
    /// [`Parser::parse`] of a top-level file in up to `pieces` pieces, the
    /// first `head` octets (to an entry's end) parsed before they start.
    /// Gives how many pieces joined the first.
    pub(super) fn parse_pieces(
        &mut self,
        text: &[u8],
        source: &Source<'_>,
        pieces: usize,
        head: usize,
    ) -> Result<usize, ZoneError> {
        let mut lexer = Lexer::new(text);
        if !self.parse_entries(&mut lexer, source, Some(head))? {
            return Ok(0);
        }
        let cuts = cuts(text, lexer.offset(), pieces);
        let start = Start { origin: self.origin.clone(), default_ttl: self.default_ttl };
        std::thread::scope(|scope| {
            let (start, label) = (&start, source.label);
            let handles: Vec<_> = (0..cuts.len())
                .map(|k| {
                    let (cut, stop) = (cuts[k], cuts.get(k + 1).copied());
                    scope.spawn(move || parse_piece(text, cut, stop, start, label))
                })
                .collect();
            let mut reached = self.parse_entries(&mut lexer, source, cuts.first().copied())?;
            let mut joined = 0;
            for (&cut, handle) in cuts.iter().zip(handles) {
                let piece = handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                let joins = reached && lexer.offset() == cut && piece.start.holds_for(self) && !piece.parser.gave_up;
                if !joins {
                    break;
                }
                reached = piece.result?;
                self.adopt(piece.parser);
                lexer = Lexer::at(text, piece.offset, piece.line);
                joined += 1;
            }
            // From the end of the last good piece, in one pass.
            self.parse_entries(&mut lexer, source, None)?;
            Ok(joined)
        })
    }

    /// Takes over a piece that joined: its records and warnings follow
    /// ours, and its state is where one pass would be.
    fn adopt(&mut self, piece: Parser) {
        // Kept apart until `finish`; an empty piece leaves ours as the
        // last part, whose last record a blank owner repeats.
        if !piece.records.is_empty() {
            self.earlier.push(std::mem::replace(&mut self.records, piece.records));
        }
        self.warnings.extend(piece.warnings);
        self.origin = piece.origin;
        self.default_ttl = piece.default_ttl;
        self.last_ttl = piece.last_ttl.or(self.last_ttl);
    }
}

fn parse_piece(text: &[u8], cut: usize, stop: Option<usize>, head: &Start, label: &str) -> Piece {
    // Its line, and the last lines before it that start with `$`: files
    // that change `$ORIGIN` or `$TTL` as they go (BIND's signed output
    // does) are most likely in the state those lines set.
    let mut line = 1;
    let (mut last_origin, mut last_ttl) = (None, None);
    for (i, &c) in text[..cut].iter().enumerate() {
        if c == b'\n' {
            line += 1;
            if text[i + 1] == b'$' {
                let rest = &text[i + 1..cut];
                let directive = &rest[..rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())];
                let mut words = directive.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty());
                match (words.next(), words.next()) {
                    (Some(d), Some(arg)) if d.eq_ignore_ascii_case(b"$ORIGIN") => last_origin = Some(arg),
                    (Some(d), Some(arg)) if d.eq_ignore_ascii_case(b"$TTL") => last_ttl = Some(arg),
                    _ => {}
                }
            }
        }
    }
    let origin = last_origin.and_then(|o| Name::parse_bytes(o, None).ok().flatten());
    let ttl = last_ttl.and_then(|t| crate::zone::ttl::parse_ttl(t).ok());
    let start = Start { origin: origin.or_else(|| head.origin.clone()), default_ttl: ttl.or(head.default_ttl) };
    // Never read: a piece gives up at an `$INCLUDE`.
    let reader = Reader::new(&ReadLimits { max_bytes: 0, include_dirs: Vec::new() }, Path::new("."));
    let mut parser = Parser::new(start.origin.as_ref(), reader);
    parser.default_ttl = start.default_ttl;
    parser.speculative = true;
    let mut lexer = Lexer::at(text, cut, line);
    let source = Source { label, dir: Path::new("."), depth: 0 };
    let result = parser.parse_entries(&mut lexer, &source, stop);
    Piece { start, parser, result, offset: lexer.offset(), line: lexer.line() }
}

/// Up to `pieces - 1` cuts after `from`, near even shares of `text`, in
/// increasing order: each the start of a line that begins with an owner
/// (not a blank, comment, directive or parenthesis) after a line that is
/// not empty, where one pass most likely begins an entry. Whether it does
/// is checked when the pieces join.
fn cuts(text: &[u8], from: usize, pieces: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = Vec::new();
    for k in 1..pieces {
        let ideal = (text.len() / pieces * k).max(cuts.last().map_or(from, |&c| c + 1));
        let end = ideal.saturating_add(CUT_SEARCH).min(text.len());
        let found = (ideal.max(1)..end).find(|&i| {
            text[i - 1] == b'\n'
                && owner_start(text[i])
                && text.get(i.wrapping_sub(2)).is_some_and(|&c| c != b'\n' && c != b'\r')
        });
        if let Some(cut) = found {
            cuts.push(cut);
        }
    }
    cuts
}

fn owner_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'*' | b'_' | b'@' | b'\\' | b'-')
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;
    use std::path::Path;

    use super::super::{Parser, Source};
    use crate::zone::reader::{ReadLimits, Reader};
    use crate::zone::test_support::TempDir;

    type Summary = (Vec<u8>, u16, u32, Vec<u8>, String);
    /// The records and warnings, or the error.
    type Outcome = Result<(Vec<Summary>, Vec<String>), String>;

    /// One pass's outcome (`pieces` 1) or the pieces': the error, or the
    /// records (owner octets as written) and warnings; and how many pieces joined.
    fn outcome(text: &str, pieces: usize, dir: &Path) -> (Outcome, usize) {
        let mut parser = Parser::new(None, Reader::new(&ReadLimits::default(), dir));
        let source = Source { label: "t.zone", dir, depth: 0 };
        let result = match pieces {
            1 => parser.parse_source(text.as_bytes(), &source).map(|_| 0),
            n => parser.parse_pieces(text.as_bytes(), &source, n, 40),
        };
        let (records, warnings) = parser.finish();
        let summary = records
            .iter()
            .map(|r| (r.owner.wire().to_vec(), r.rtype.0, r.ttl, r.rdata.to_vec(), r.location.to_string()))
            .collect();
        match result {
            Ok(joined) => (Ok((summary, warnings)), joined),
            Err(e) => (Err(e.to_string()), 0),
        }
    }

    /// Every piece count gives one pass's outcome; how many joined, per count.
    fn same_as_one_pass(text: &str, dir: &Path) -> Vec<usize> {
        let (want, _) = outcome(text, 1, dir);
        (2..=5)
            .map(|n| {
                let (got, joined) = outcome(text, n, dir);
                assert_eq!(got, want, "{n} pieces");
                joined
            })
            .collect()
    }

    fn body(names: usize, line: impl Fn(usize) -> String) -> String {
        let mut text = String::from("$ORIGIN Example.test.\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n");
        for i in 0..names {
            writeln!(text, "{}", line(i)).unwrap();
        }
        text
    }

    #[test]
    fn pieces_join_and_read_what_one_pass_reads() {
        let dir = TempDir::new("pieces-join");
        let text = body(400, |i| match i % 4 {
            0 => format!("h{i} A 198.18.0.{}", i % 250),
            1 => format!("h{i}.Example.test. 60 IN TXT \"a b ; c\" ; comment"),
            2 => format!("\tAAAA fd00::{i:x}\nh{i}x MX 10 h{i}"),
            _ => format!("h{i} RRSIG A 13 3 3600 20300101000000 20200101000000 4711 Example.test. AAAA BB=="),
        });
        let joined = same_as_one_pass(&text, dir.root());
        assert_eq!(joined, vec![1, 2, 3, 4], "every cut lands between entries here");
        let moving = body(400, |i| format!("$ORIGIN o{}.test.\n$TTL {}\nh{i} A 198.18.0.1", i / 50, 60 + i / 50));
        let joined = same_as_one_pass(&moving, dir.root());
        assert_eq!(joined, vec![1, 2, 3, 4], "the state is read from the directives before each cut");
    }

    #[test]
    fn entries_across_cuts_directives_and_errors_fall_back_to_one_pass() {
        let dir = TempDir::new("pieces-fall-back");
        dir.write("part.zone", "inc A 198.18.0.9\n");
        let lines: [fn(usize) -> String; 6] = [
            // Entries spanning lines: some cut falls inside one.
            |i| format!("h{i} SOA ns hm (\n1 2\n3 4 5 )"),
            // The state changes: the pieces' start is not what they assumed.
            |i| format!("$ORIGIN o{}.test.\nh{i} A 198.18.0.1", i / 50),
            |i| format!("$TTL {}\nh{i} A 198.18.0.1", i / 50),
            |i| if i % 97 == 0 { "$INCLUDE part.zone".into() } else { format!("h{i} A 198.18.0.1") },
            // The first error is one pass's, wherever the pieces are.
            |i| if i == 390 { format!("h{i} A 300.1.1.1") } else { format!("h{i} A 198.18.0.1") },
            |i| if i % 150 == 149 { format!("h{i} A x{i}\n(") } else { format!("h{i} A 198.18.0.1") },
        ];
        for line in lines {
            same_as_one_pass(&body(400, line), dir.root());
        }
        // No $TTL: a record without one takes the previous record's, which
        // a piece cannot know.
        let mut text = String::from("$ORIGIN Example.test.\n@ 60 SOA ns hm 1 2 3 4 5\n@ 60 NS ns\n");
        for i in 0..400 {
            let ttl = if i % 37 == 36 { String::new() } else { format!("{i} ") };
            writeln!(text, "h{i} {ttl}A 198.18.0.1").unwrap();
        }
        assert_eq!(same_as_one_pass(&text, dir.root()), vec![0; 4]);
    }
}
