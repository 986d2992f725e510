//! Splits master-file text into entries (RFC 1035 §5.1).
//!
//! An entry is one logical line: parentheses join physical lines, `;` starts
//! a comment, `"..."` is one token whatever it contains. Tokens borrow from
//! the input and keep their escapes; the code that knows what a field means
//! decodes them, so lexing allocates nothing beyond the reused token vector.

/// One field of an entry, escapes still in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The raw bytes; for a quoted token, what lies between the quotes.
    pub text: &'a [u8],
    /// Written as `"..."`: always data, never a number, name or keyword.
    pub quoted: bool,
}

impl Token<'_> {
    /// The token as written, for error messages.
    pub fn show(&self) -> String {
        String::from_utf8_lossy(self.text).into_owned()
    }

    pub fn is(&self, keyword: &str) -> bool {
        !self.quoted && self.text.eq_ignore_ascii_case(keyword.as_bytes())
    }
}

/// Where an entry starts and whether it names an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStart {
    /// Line (from 1) of the entry's first token.
    pub line: usize,
    /// The physical line began with a blank: the owner is the previous one.
    pub owner_omitted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub line: usize,
    pub message: String,
}

pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8]) -> Lexer<'a> {
        Lexer { src, pos: 0, line: 1 }
    }

    /// Lexing from octet `pos`, which is on line `line`.
    pub fn at(src: &'a [u8], pos: usize, line: usize) -> Lexer<'a> {
        Lexer { src, pos: pos.min(src.len()), line }
    }

    /// Where the next entry's search starts.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn line(&self) -> usize {
        self.line
    }

    /// Reads the next non-empty entry into `tokens` (cleared first).
    /// `Ok(None)` at the end of the input.
    pub fn next_entry(&mut self, tokens: &mut Vec<Token<'a>>) -> Result<Option<EntryStart>, LexError> {
        tokens.clear();
        let mut start = EntryStart { line: self.line, owner_omitted: self.at_blank() };
        // Line of the innermost unclosed '(' (only the outermost matters for errors).
        let mut open_paren: Option<usize> = None;
        let mut depth = 0usize;
        while let Some(&c) = self.src.get(self.pos) {
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    if depth == 0 {
                        if !tokens.is_empty() {
                            return Ok(Some(start));
                        }
                        // Blank or comment-only line: the entry starts afresh.
                        start = EntryStart { line: self.line, owner_omitted: self.at_blank() };
                    }
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b';' => self.skip_comment(),
                b'(' => {
                    if depth == 0 {
                        open_paren = Some(self.line);
                    }
                    depth += 1;
                    self.pos += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Err(self.error("')' without a matching '('"));
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                b'"' => {
                    if tokens.is_empty() {
                        start.line = self.line;
                    }
                    let token = self.quoted()?;
                    tokens.push(token);
                }
                _ => {
                    if tokens.is_empty() {
                        start.line = self.line;
                    }
                    let token = self.word()?;
                    tokens.push(token);
                }
            }
        }
        if depth > 0 {
            let line = open_paren.unwrap_or(self.line);
            return Err(LexError { line, message: "'(' is never closed".into() });
        }
        Ok((!tokens.is_empty()).then_some(start))
    }

    fn at_blank(&self) -> bool {
        matches!(self.src.get(self.pos), Some(b' ' | b'\t'))
    }

    fn skip_comment(&mut self) {
        while let Some(&c) = self.src.get(self.pos) {
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// `"..."`: the quotes are not part of the token; `\"` does not end it.
    fn quoted(&mut self) -> Result<Token<'a>, LexError> {
        let begin = self.pos + 1;
        let end = self.closing_quote(begin)?;
        self.pos = end + 1;
        Ok(Token { text: &self.src[begin..end], quoted: true })
    }

    /// Index of the `"` that closes a string starting at `from`.
    fn closing_quote(&self, from: usize) -> Result<usize, LexError> {
        let mut i = from;
        while let Some(&c) = self.src.get(i) {
            match c {
                b'"' => return Ok(i),
                // A string stays on its line: an unbalanced quote is then
                // reported where it is, not hundreds of lines later.
                b'\n' => break,
                b'\\' if self.src.get(i + 1) != Some(&b'\n') => i += 2,
                _ => i += 1,
            }
        }
        Err(self.error("quoted string is not closed on its line"))
    }

    /// An unquoted token. A `"` inside it (as in SVCB's `alpn="h2,h3"`)
    /// runs to its closing quote, blanks included.
    fn word(&mut self) -> Result<Token<'a>, LexError> {
        let begin = self.pos;
        let mut i = begin;
        while let Some(&c) = self.src.get(i) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' => break,
                b'\\' => {
                    // The escaped octet belongs to the word, unless it is the
                    // end of the line; the lone `\` is then rejected on decoding.
                    i += if matches!(self.src.get(i + 1), Some(b'\n') | None) { 1 } else { 2 };
                }
                b'"' => i = self.closing_quote(i + 1)? + 1,
                _ => i += 1,
            }
        }
        self.pos = i;
        Ok(Token { text: &self.src[begin..i], quoted: false })
    }

    fn error(&self, message: &str) -> LexError {
        LexError { line: self.line, message: message.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All entries as (line, owner_omitted, ["tok", "\"quoted\""]).
    fn entries(text: &str) -> Result<Vec<(usize, bool, Vec<String>)>, LexError> {
        let mut lexer = Lexer::new(text.as_bytes());
        let mut tokens = Vec::new();
        let mut out = Vec::new();
        while let Some(start) = lexer.next_entry(&mut tokens)? {
            let shown = tokens.iter().map(|t| if t.quoted { format!("\"{}\"", t.show()) } else { t.show() }).collect();
            out.push((start.line, start.owner_omitted, shown));
        }
        Ok(out)
    }

    fn strings(tokens: &[&str]) -> Vec<String> {
        tokens.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_lines_and_marks_omitted_owners() {
        let got = entries("www A 1.2.3.4\n\tAAAA ::1\n\n; only a comment\n  ; indented comment\nx TXT y").unwrap();
        assert_eq!(
            got,
            vec![
                (1, false, strings(&["www", "A", "1.2.3.4"])),
                (2, true, strings(&["AAAA", "::1"])),
                (6, false, strings(&["x", "TXT", "y"])),
            ]
        );
    }

    #[test]
    fn parentheses_join_lines_and_comments_are_dropped() {
        let text = "@ SOA ns1 host ( 1 ; serial\n  2 3\n 4 5 )\nnext A 1.1.1.1\n";
        let got = entries(text).unwrap();
        assert_eq!(got[0], (1, false, strings(&["@", "SOA", "ns1", "host", "1", "2", "3", "4", "5"])));
        assert_eq!(got[1], (4, false, strings(&["next", "A", "1.1.1.1"])));
    }

    #[test]
    fn quoted_strings_keep_blanks_semicolons_and_escapes() {
        let got = entries(r#"t TXT "a b;c" "say \"hi\"" ""  plain\ word"#).unwrap();
        assert_eq!(got[0].2, strings(&["t", "TXT", "\"a b;c\"", r#""say \"hi\"""#, "\"\"", r"plain\ word"]));
    }

    #[test]
    fn quotes_inside_a_word_run_to_their_close() {
        let got = entries(r#"s HTTPS 1 . alpn="h2, h3" port=443"#).unwrap();
        assert_eq!(got[0].2, strings(&["s", "HTTPS", "1", ".", r#"alpn="h2, h3""#, "port=443"]));
    }

    #[test]
    fn escaped_delimiters_stay_in_the_word() {
        let got = entries(r"a\;b\(c TXT x\)").unwrap();
        assert_eq!(got[0].2, strings(&[r"a\;b\(c", "TXT", r"x\)"]));
    }

    #[test]
    fn entry_line_is_where_its_first_token_is() {
        let got = entries("\n\n   (\n  x A 1.2.3.4 )\n").unwrap();
        assert_eq!(got, vec![(4, true, strings(&["x", "A", "1.2.3.4"]))]);
    }

    #[test]
    fn unbalanced_parentheses_and_quotes_are_errors() {
        let err = entries("a A 1.2.3.4\nb SOA ( 1 2\n3\n").unwrap_err();
        assert_eq!(err, LexError { line: 2, message: "'(' is never closed".into() });
        let err = entries("a A 1.2.3.4 )\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("')'"), "{}", err.message);
        let err = entries("a TXT ok\nb TXT \"open\nc A 1.2.3.4\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("quoted string"), "{}", err.message);
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let got = entries("a A 1.2.3.4\r\n\tTXT x\r\n").unwrap();
        assert_eq!(got, vec![(1, false, strings(&["a", "A", "1.2.3.4"])), (2, true, strings(&["TXT", "x"]))]);
    }
}
