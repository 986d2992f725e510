//! Domain names in uncompressed wire form.
//!
//! Names keep the case they were written with (answers echo it), while
//! comparison, hashing and ordering are case-insensitive as RFC 4343 requires.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use super::small_bytes::SmallBytes;

/// Longest name on the wire, length octets and root label included (RFC 1035 §3.1).
pub const MAX_NAME_LEN: usize = 255;
/// Longest single label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// An absolute domain name: a sequence of length-prefixed labels ending with the root.
#[derive(Clone)]
pub struct Name {
    wire: SmallBytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("label longer than 63 octets")]
    LabelTooLong,
    #[error("name longer than 255 octets")]
    NameTooLong,
    #[error("empty label")]
    EmptyLabel,
    #[error("bad escape sequence")]
    BadEscape,
    #[error("malformed wire-format name")]
    BadWire,
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name { wire: SmallBytes::new(&[0]) }
    }

    /// Builds a name from uncompressed wire bytes, checking every length octet.
    pub fn from_wire(wire: &[u8]) -> Result<Name, NameError> {
        let mut i = 0;
        loop {
            let len = *wire.get(i).ok_or(NameError::BadWire)? as usize;
            if len == 0 {
                if i + 1 != wire.len() {
                    return Err(NameError::BadWire);
                }
                break;
            }
            if len > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            i += 1 + len;
        }
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        Ok(Name { wire: SmallBytes::new(wire) })
    }

    /// Builds a name from labels given leftmost first (raw bytes, no escapes).
    pub fn from_labels<'a, I: IntoIterator<Item = &'a [u8]>>(labels: I) -> Result<Name, NameError> {
        let mut wire = Vec::with_capacity(32);
        for label in labels {
            if label.is_empty() {
                return Err(NameError::EmptyLabel);
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            wire.push(label.len() as u8);
            wire.extend_from_slice(label);
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        Ok(Name { wire: SmallBytes::new(&wire) })
    }

    /// Parses presentation format (`www.example.com.`, escapes `\.` and `\DDD`).
    /// A name without a trailing dot is relative and gets `origin` appended;
    /// `@` is the origin itself. Without an origin a relative name is an error
    /// reported by the caller, signalled here by `Ok(None)`.
    pub fn parse(text: &str, origin: Option<&Name>) -> Result<Option<Name>, NameError> {
        Name::parse_bytes(text.as_bytes(), origin)
    }

    /// [`Name::parse`] for text that need not be UTF-8 (zone files may hold raw octets).
    pub fn parse_bytes(text: &[u8], origin: Option<&Name>) -> Result<Option<Name>, NameError> {
        // Written into a reused buffer, then kept at its size: a name per
        // record of a zone file goes through here.
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCRATCH.with_borrow_mut(|wire| {
            wire.clear();
            Ok(append_presentation(text, origin, wire)?.then(|| Name { wire: SmallBytes::new(wire) }))
        })
    }

    /// `self` (treated as relative: its root label dropped) followed by `suffix`.
    pub fn concat(&self, suffix: &Name) -> Result<Name, NameError> {
        let (head, len) = (&self.wire[..self.wire.len() - 1], self.wire.len() - 1 + suffix.wire.len());
        if len > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        let mut wire = [0u8; MAX_NAME_LEN];
        wire[..head.len()].copy_from_slice(head);
        wire[head.len()..len].copy_from_slice(&suffix.wire);
        Ok(Name { wire: SmallBytes::new(&wire[..len]) })
    }

    /// `label.self`, for building wildcard and child names.
    pub fn prepend(&self, label: &[u8]) -> Result<Name, NameError> {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        let len = 1 + label.len() + self.wire.len();
        if len > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        let mut wire = [0u8; MAX_NAME_LEN];
        wire[0] = label.len() as u8;
        wire[1..1 + label.len()].copy_from_slice(label);
        wire[1 + label.len()..len].copy_from_slice(&self.wire);
        Ok(Name { wire: SmallBytes::new(&wire[..len]) })
    }

    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// Labels leftmost first, root excluded.
    pub fn labels(&self) -> Labels<'_> {
        Labels { wire: &self.wire, pos: 0 }
    }

    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The name with its leftmost label removed; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + self.wire[0] as usize;
        Some(Name { wire: SmallBytes::new(&self.wire[skip..]) })
    }

    pub fn is_wildcard(&self) -> bool {
        self.wire.len() >= 2 && self.wire[0] == 1 && self.wire[1] == b'*'
    }

    /// True when `self` equals `ancestor` or lies below it.
    pub fn is_subdomain_of(&self, ancestor: &Name) -> bool {
        let (a, b) = (&self.wire, &ancestor.wire);
        if b.len() > a.len() {
            return false;
        }
        // The suffix must start on a label boundary of `self`.
        let start = a.len() - b.len();
        let mut i = 0;
        while i < start {
            i += 1 + a[i] as usize;
        }
        // Names of one zone mostly spell the apex alike: the exact compare
        // (a memcmp) settles most without the octet-by-octet one.
        i == start && (a[start..] == b[..] || a[start..].eq_ignore_ascii_case(b))
    }

    /// A copy with ASCII letters lowered: the key form used by the table.
    pub fn to_lowercase(&self) -> Name {
        let mut lower = self.clone();
        lower.wire.make_ascii_lowercase();
        lower
    }
}

/// Appends the wire form of presentation-format `text` to `out`: labels
/// separated by unescaped dots, `\X` for a literal `X`, `\DDD` for a decimal
/// octet, `@` for the origin. A relative name gets `origin` appended.
///
/// Returns `Ok(false)`, leaving `out` as it was, when the name is relative and
/// there is no origin: only the caller knows how to explain that. Writing
/// straight into `out` keeps zone loading free of per-label allocations.
pub fn append_presentation(text: &[u8], origin: Option<&Name>, out: &mut Vec<u8>) -> Result<bool, NameError> {
    let base = out.len();
    let result = write_labels(text, origin, out);
    if !matches!(result, Ok(true)) {
        out.truncate(base);
    }
    result
}

fn write_labels(text: &[u8], origin: Option<&Name>, out: &mut Vec<u8>) -> Result<bool, NameError> {
    let base = out.len();
    match text {
        b"@" => {
            let Some(origin) = origin else {
                return Ok(false);
            };
            out.extend_from_slice(&origin.wire);
            return Ok(true);
        }
        b"." => {
            out.push(0);
            return Ok(true);
        }
        b"" => return Err(NameError::EmptyLabel),
        _ => {}
    }
    let mut len_at = out.len();
    out.push(0); // length octet of the current label, patched when it ends
    let mut i = 0;
    let mut absolute = false;
    while i < text.len() {
        let c = text[i];
        let octet = match c {
            b'\\' => {
                let (octet, used) = unescape(&text[i..]).ok_or(NameError::BadEscape)?;
                i += used;
                octet
            }
            b'.' => {
                let label_len = out.len() - len_at - 1;
                if label_len == 0 {
                    return Err(NameError::EmptyLabel);
                }
                out[len_at] = label_len as u8;
                i += 1;
                if i == text.len() {
                    absolute = true;
                } else {
                    len_at = out.len();
                    out.push(0);
                }
                continue;
            }
            _ => {
                i += 1;
                c
            }
        };
        out.push(octet);
        if out.len() - len_at - 1 > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if out.len() - base > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
    }
    if absolute {
        out.push(0);
    } else {
        let label_len = out.len() - len_at - 1;
        out[len_at] = label_len as u8;
        let Some(origin) = origin else {
            return Ok(false);
        };
        out.extend_from_slice(&origin.wire);
    }
    if out.len() - base > MAX_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    Ok(true)
}

/// Decodes one escape at the start of `text` (which begins with `\`):
/// `\DDD` (exactly three digits, at most 255) or `\X`. Returns the octet
/// and how many input bytes it took.
pub(crate) fn unescape(text: &[u8]) -> Option<(u8, usize)> {
    let next = *text.get(1)?;
    if !next.is_ascii_digit() {
        return Some((next, 2));
    }
    let digits = text.get(1..4)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    u8::try_from(value).ok().map(|octet| (octet, 4))
}

/// Iterator over the labels of a [`Name`].
pub struct Labels<'a> {
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.wire.get(self.pos)? as usize;
        if len == 0 {
            return None;
        }
        let label = &self.wire[self.pos + 1..self.pos + 1 + len];
        self.pos += 1 + len;
        Some(label)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}
impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // One `write` of the lowered name: hashers are much slower fed
        // octet by octet, and zone checks hash every name several times.
        let mut lower = [0u8; MAX_NAME_LEN];
        let len = self.wire.len().min(MAX_NAME_LEN);
        for (to, from) in lower.iter_mut().zip(&self.wire[..len]) {
            *to = from.to_ascii_lowercase();
        }
        state.write(&lower[..len]);
    }
}

impl Ord for Name {
    /// Canonical DNS order (RFC 4034 §6.1): compare labels right to left.
    fn cmp(&self, other: &Name) -> Ordering {
        // Label offsets on the stack: a 255-octet name has at most 127 labels.
        let (a, a_len) = label_starts(&self.wire);
        let (b, b_len) = label_starts(&other.wire);
        for (&x, &y) in a[..a_len].iter().rev().zip(b[..b_len].iter().rev()) {
            let x = label_at(&self.wire, x);
            let y = label_at(&other.wire, y);
            let ord = x.iter().map(u8::to_ascii_lowercase).cmp(y.iter().map(u8::to_ascii_lowercase));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a_len.cmp(&b_len)
    }
}

fn label_starts(wire: &[u8]) -> ([u8; 128], usize) {
    let mut starts = [0u8; 128];
    let mut count = 0;
    let mut i = 0;
    while let Some(&len) = wire.get(i) {
        if len == 0 || count == starts.len() {
            break;
        }
        starts[count] = i as u8;
        count += 1;
        i += 1 + len as usize;
    }
    (starts, count)
}

fn label_at(wire: &[u8], start: u8) -> &[u8] {
    let start = start as usize;
    let len = wire[start] as usize;
    &wire[start + 1..start + 1 + len]
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Name {
    /// Presentation format with escapes, always absolute.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for label in self.labels() {
            for &b in label {
                match b {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => write!(f, "\\{}", b as char)?,
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{:03}", b)?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s, None).unwrap().unwrap()
    }

    #[test]
    fn parses_absolute_relative_and_escapes() {
        let origin = n("example.com.");
        assert_eq!(n("www.example.com.").wire(), b"\x03www\x07example\x03com\x00");
        assert_eq!(Name::parse("www", Some(&origin)).unwrap().unwrap(), n("www.example.com."));
        assert_eq!(Name::parse("@", Some(&origin)).unwrap().unwrap(), origin);
        assert_eq!(n("a\\.b.c.").wire(), b"\x03a.b\x01c\x00");
        assert_eq!(n("\\065b.").wire(), b"\x02Ab\x00");
        assert!(Name::parse("www", None).unwrap().is_none());
        assert_eq!(Name::parse("a..b.", None), Err(NameError::EmptyLabel));
        assert_eq!(Name::parse("\\256.", None), Err(NameError::BadEscape));
        let long = "a".repeat(64) + ".";
        assert_eq!(Name::parse(&long, None), Err(NameError::LabelTooLong));
        let too_long = "abcdefghi.".repeat(26);
        assert_eq!(Name::parse(&too_long, None), Err(NameError::NameTooLong));
    }

    #[test]
    fn compares_case_insensitively_in_canonical_order() {
        assert_eq!(n("WWW.Example.COM."), n("www.example.com."));
        assert!(n("a.example.").cmp(&n("b.example.")).is_lt());
        assert!(n("example.").cmp(&n("a.example.")).is_lt());
        assert!(n("z.a.example.").cmp(&n("b.example.")).is_lt());
    }

    #[test]
    fn subdomain_respects_label_boundaries() {
        assert!(n("a.example.com.").is_subdomain_of(&n("EXAMPLE.com.")));
        assert!(n("example.com.").is_subdomain_of(&n("example.com.")));
        assert!(!n("badexample.com.").is_subdomain_of(&n("example.com.")));
        assert!(n("x.").is_subdomain_of(&Name::root()));
    }

    #[test]
    fn display_round_trips() {
        for s in ["www.example.com.", "a\\.b.c.", "\\000x.", "."] {
            let name = n(s);
            assert_eq!(n(&name.to_string()), name, "{s}");
        }
    }
}
