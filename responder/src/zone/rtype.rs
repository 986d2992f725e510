//! Record types and classes: numbers, mnemonics and the RFC 3597 `TYPEnnn` form.

use std::fmt;

/// A resource record type (RFC 1035 §3.2.2 and successors).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RType(pub u16);

macro_rules! rtypes {
    ($($name:ident = $num:expr),* $(,)?) => {
        impl RType {
            $(pub const $name: RType = RType($num);)*

            /// The mnemonic, when the type has one.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// Parses a mnemonic (any case) or `TYPEnnn`.
            pub fn from_text(text: &str) -> Option<RType> {
                $(if text.eq_ignore_ascii_case(stringify!($name)) { return Some(RType($num)); })*
                parse_generic(text, "TYPE").map(RType)
            }
        }
    };
}

rtypes! {
    A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15, TXT = 16,
    AAAA = 28, SRV = 33, NAPTR = 35, DNAME = 39, OPT = 41, DS = 43, SSHFP = 44,
    RRSIG = 46, NSEC = 47, DNSKEY = 48, NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52,
    SVCB = 64, HTTPS = 65, IXFR = 251, AXFR = 252, ANY = 255, CAA = 257,
}

fn parse_generic(text: &str, prefix: &str) -> Option<u16> {
    let head = text.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let digits = &text[prefix.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl RType {
    /// Types a query may ask for but that never exist as data (RFC 6895 §3.1).
    pub fn is_meta(self) -> bool {
        self.0 == 41 || (128..=255).contains(&self.0)
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Record classes. Only IN carries zone data; CH is used for server identity queries.
pub mod class {
    pub const IN: u16 = 1;
    pub const CH: u16 = 3;
    pub const NONE: u16 = 254;
    pub const ANY: u16 = 255;

    /// Parses `IN`, `CH`, `HS`, `CS` or `CLASSnnn`.
    pub fn from_text(text: &str) -> Option<u16> {
        // Called for most tokens of every zone file line: no allocation.
        MNEMONICS
            .iter()
            .find(|(mnemonic, _)| text.eq_ignore_ascii_case(mnemonic))
            .map(|&(_, class)| class)
            .or_else(|| super::parse_generic(text, "CLASS"))
    }

    const MNEMONICS: [(&str, u16); 4] = [("IN", IN), ("CS", 2), ("CH", CH), ("HS", 4)];

    /// The mnemonic when there is one, else `CLASSnnn` (RFC 3597 §5).
    pub fn to_text(class: u16) -> String {
        match MNEMONICS.iter().find(|&&(_, c)| c == class) {
            Some((mnemonic, _)) => (*mnemonic).to_string(),
            None => format!("CLASS{class}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_and_generic_forms() {
        assert_eq!(RType::from_text("aaaa"), Some(RType::AAAA));
        assert_eq!(RType::from_text("TYPE65534"), Some(RType(65534)));
        assert_eq!(RType::from_text("TYPE65536"), None);
        assert_eq!(RType::from_text("TYPE"), None);
        assert_eq!(RType::from_text("BOGUS"), None);
        assert_eq!(RType(65534).to_string(), "TYPE65534");
        assert_eq!(RType::HTTPS.to_string(), "HTTPS");
        assert_eq!(class::from_text("class3"), Some(class::CH));
        assert_eq!(class::from_text("in"), Some(class::IN));
        assert_eq!(class::from_text("INX"), None);
        assert_eq!(class::to_text(class::CH), "CH");
        assert_eq!(class::to_text(42), "CLASS42");
        assert!(RType::ANY.is_meta() && RType::OPT.is_meta() && !RType::CAA.is_meta());
    }
}
