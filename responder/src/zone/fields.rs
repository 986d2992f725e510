//! A cursor over the RDATA fields of one record, with the conversions every
//! type needs (integers, names, character-strings) and errors that say which
//! type and which field went wrong.

use std::fmt::Display;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::encoding::{Base64, Hex};
use super::lexer::Token;
use super::name::{append_presentation, unescape, Name};
use super::rtype::RType;

/// What to say when a relative name meets a file with no origin.
pub const NO_ORIGIN: &str = "relative name but no $ORIGIN; give the zone as NAME=FILE or add $ORIGIN";

/// Longest character-string (RFC 1035 §3.3): one length octet.
pub const MAX_CHAR_STRING: usize = 255;

pub struct Fields<'t, 'a> {
    rtype: RType,
    tokens: &'t [Token<'a>],
    pos: usize,
    origin: Option<&'t Name>,
}

impl<'t, 'a> Fields<'t, 'a> {
    pub fn new(rtype: RType, tokens: &'t [Token<'a>], origin: Option<&'t Name>) -> Fields<'t, 'a> {
        Fields { rtype, tokens, pos: 0, origin }
    }

    pub fn rtype(&self) -> RType {
        self.rtype
    }

    pub fn origin(&self) -> Option<&'t Name> {
        self.origin
    }

    /// An error message about this record's RDATA, prefixed with its type.
    pub fn fail(&self, message: impl Display) -> String {
        format!("{}: {message}", self.rtype)
    }

    pub fn peek(&self) -> Option<&'t Token<'a>> {
        self.tokens.get(self.pos)
    }

    pub fn next(&mut self, what: &str) -> Result<&'t Token<'a>, String> {
        let token = self.tokens.get(self.pos).ok_or_else(|| self.fail(format!("missing {what}")))?;
        self.pos += 1;
        Ok(token)
    }

    /// All fields not yet consumed (for lists, key material, bitmaps).
    pub fn rest(&mut self) -> &'t [Token<'a>] {
        let rest = &self.tokens[self.pos..];
        self.pos = self.tokens.len();
        rest
    }

    /// Every field must have been used: extra ones are usually a typo.
    pub fn end(&self) -> Result<(), String> {
        match self.peek() {
            Some(extra) => Err(self.fail(format!("unexpected extra field \"{}\"", extra.show()))),
            None => Ok(()),
        }
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        self.integer(what, u64::from(u8::MAX)).map(|v| v as u8)
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, String> {
        self.integer(what, u64::from(u16::MAX)).map(|v| v as u16)
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, String> {
        self.integer(what, u64::from(u32::MAX)).map(|v| v as u32)
    }

    fn integer(&mut self, what: &str, max: u64) -> Result<u64, String> {
        let token = self.next(what)?;
        parse_decimal(token.text)
            .filter(|&v| v <= max && !token.quoted)
            .ok_or_else(|| self.fail(format!("bad {what} \"{}\" (expected 0-{max})", token.show())))
    }

    /// A domain name, relative ones completed with the origin, appended in wire form.
    pub fn name(&mut self, what: &str, out: &mut Vec<u8>) -> Result<(), String> {
        let token = self.next(what)?;
        match append_presentation(token.text, self.origin, out) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.fail(format!("{what} \"{}\": {NO_ORIGIN}", token.show()))),
            Err(e) => Err(self.fail(format!("bad {what} \"{}\": {e}", token.show()))),
        }
    }

    /// A character-string: length octet, then the decoded text.
    pub fn char_string(&mut self, what: &str, out: &mut Vec<u8>) -> Result<(), String> {
        let token = self.next(what)?;
        self.push_char_string(token, what, out)
    }

    pub fn push_char_string(&self, token: &Token<'_>, what: &str, out: &mut Vec<u8>) -> Result<(), String> {
        let len_at = out.len();
        out.push(0);
        decode_text(token.text, out).map_err(|e| self.fail(format!("{what} \"{}\": {e}", token.show())))?;
        let len = out.len() - len_at - 1;
        if len > MAX_CHAR_STRING {
            return Err(self.fail(format!("{what} is {len} octets, more than {MAX_CHAR_STRING}")));
        }
        out[len_at] = len as u8;
        Ok(())
    }
}

/// Unsigned decimal digits only: no sign, no blanks, no units.
pub fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0')))
}

/// Appends text with its escapes (`\X`, `\DDD`) decoded.
pub fn decode_text(text: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' {
            let (octet, used) = unescape(&text[i..]).ok_or("bad escape (use \\X or \\DDD up to 255)")?;
            out.push(octet);
            i += used;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Ok(())
}

pub fn push_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn push_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

pub fn ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Hex that may be split into several fields; at least one digit pair.
pub fn hex_rest(f: &mut Fields<'_, '_>, what: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let pieces = f.rest();
    if pieces.is_empty() {
        return Err(f.fail(format!("missing {what}")));
    }
    let mut hex = Hex::default();
    for piece in pieces {
        hex.feed(piece.text, out).map_err(|e| f.fail(format!("{what}: {e}")))?;
    }
    hex.finish().map_err(|e| f.fail(format!("{what}: {e}")))
}

/// Base64 that may be split into several fields; at least one.
pub fn base64_rest(f: &mut Fields<'_, '_>, what: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let pieces = f.rest();
    if pieces.is_empty() {
        return Err(f.fail(format!("missing {what}")));
    }
    let mut decoder = Base64::default();
    for piece in pieces {
        decoder.feed(piece.text, out).map_err(|e| f.fail(format!("{what}: {e}")))?;
    }
    decoder.finish().map_err(|e| f.fail(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> Token<'_> {
        Token { text: text.as_bytes(), quoted: false }
    }

    #[test]
    fn integers_check_their_range_and_name_the_field() {
        let tokens = [token("255"), token("256"), token("-1")];
        let mut f = Fields::new(RType::MX, &tokens, None);
        assert_eq!(f.u8("flags"), Ok(255));
        assert_eq!(f.u8("flags").unwrap_err(), "MX: bad flags \"256\" (expected 0-255)");
        assert!(f.u16("preference").unwrap_err().contains("\"-1\""));
        assert_eq!(f.u16("preference").unwrap_err(), "MX: missing preference");
    }

    #[test]
    fn names_complete_relative_ones_or_explain_why_not() {
        let origin = Name::parse("example.com.", None).unwrap().unwrap();
        let tokens = [token("mail"), token("mail")];
        let mut out = Vec::new();
        Fields::new(RType::MX, &tokens, Some(&origin)).name("exchange name", &mut out).unwrap();
        assert_eq!(out, b"\x04mail\x07example\x03com\x00");
        let err = Fields::new(RType::MX, &tokens, None).name("exchange name", &mut out).unwrap_err();
        assert_eq!(err, format!("MX: exchange name \"mail\": {NO_ORIGIN}"));
    }

    #[test]
    fn char_strings_decode_escapes_and_stop_at_255() {
        let long = "x".repeat(256);
        let tokens = [token(r#"a\"b\059\255"#), token(&long), token(r"bad\25")];
        let mut f = Fields::new(RType::TXT, &tokens, None);
        let mut out = Vec::new();
        f.char_string("text", &mut out).unwrap();
        assert_eq!(out, b"\x05a\"b;\xff");
        assert_eq!(f.char_string("text", &mut out).unwrap_err(), "TXT: text is 256 octets, more than 255");
        assert!(f.char_string("text", &mut out).unwrap_err().contains("bad escape"));
    }

    #[test]
    fn extra_fields_are_reported() {
        let tokens = [token("1"), token("junk")];
        let mut f = Fields::new(RType::MX, &tokens, None);
        f.u16("preference").unwrap();
        assert_eq!(f.end().unwrap_err(), "MX: unexpected extra field \"junk\"");
    }
}
