//! Record types and classes: numbers, mnemonics and the RFC 3597 `TYPEnnn` form.

use std::fmt;

pub use crate::wire::dns::RType;

impl RType {
    /// The mnemonic, when the type has one.
    pub fn mnemonic(self) -> Option<&'static str> {
        RType::MNEMONICS.iter().find(|&&(_, t)| t == self).map(|&(m, _)| m)
    }

    /// Parses a mnemonic (any case) or `TYPEnnn`.
    pub fn from_text(text: &str) -> Option<RType> {
        // Called for a token of most zone file lines: no allocation.
        RType::MNEMONICS
            .iter()
            .find(|(mnemonic, _)| text.eq_ignore_ascii_case(mnemonic))
            .map(|&(_, t)| t)
            .or_else(|| parse_generic(text, "TYPE").map(RType))
    }
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
    /// Why a record of this type cannot be in a zone, if it cannot: type 0
    /// is reserved (RFC 6895 §3.1), OPT, TKEY and TSIG live only in one
    /// message, and AXFR, IXFR, MAILA, MAILB and ANY are questions.
    pub fn not_data(self) -> Option<&'static str> {
        match self.0 {
            0 => Some("is reserved and never data (RFC 6895)"),
            41 => Some("is a pseudo-record of one message (EDNS), not zone data"),
            249 | 250 => Some("is a per-message transaction record, not zone data"),
            251..=255 => Some("is a query type, not data"),
            128..=248 => Some("is a meta type, never data (RFC 6895 §3.1)"),
            _ => None,
        }
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

/// Record classes: the numbers are `wire::dns::class`'s, the mnemonics are
/// read and written here.
pub mod class {
    pub use crate::wire::dns::class::*;

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

    #[test]
    fn every_assigned_mnemonic_a_signer_writes() {
        let types = [
            ("CDS", 59),
            ("CDNSKEY", 60),
            ("ZONEMD", 63),
            ("CSYNC", 62),
            ("LOC", 29),
            ("URI", 256),
            ("CERT", 37),
            ("RP", 17),
            ("SPF", 99),
            ("OPENPGPKEY", 61),
            ("SMIMEA", 53),
            ("EUI48", 108),
            ("EUI64", 109),
            ("DHCID", 49),
            ("IPSECKEY", 45),
            ("APL", 42),
            ("NID", 104),
            ("L64", 106),
            ("TA", 32768),
            ("DLV", 32769),
            ("dsync", 66),
            ("Tsig", 250),
        ];
        for (text, number) in types {
            assert_eq!(RType::from_text(text), Some(RType(number)), "{text}");
            assert_eq!(RType(number).to_string(), text.to_ascii_uppercase());
        }
        assert_eq!(RType::from_text("CDZ"), None);
    }

    #[test]
    fn types_that_are_never_zone_data_say_why() {
        assert_eq!(RType::ANY.not_data(), Some("is a query type, not data"));
        assert_eq!(RType::AXFR.not_data(), Some("is a query type, not data"));
        assert_eq!(RType::OPT.not_data(), Some("is a pseudo-record of one message (EDNS), not zone data"));
        assert_eq!(RType::TSIG.not_data(), Some("is a per-message transaction record, not zone data"));
        assert_eq!(RType::TKEY.not_data(), RType::TSIG.not_data());
        assert_eq!(RType(0).not_data(), Some("is reserved and never data (RFC 6895)"));
        assert!(RType::NXNAME.not_data().is_some_and(|why| why.contains("meta type")));
        for data in [RType::A, RType::CDS, RType::CAA, RType(127), RType(256), RType(65534)] {
            assert_eq!(data.not_data(), None, "{data}");
        }
    }
}
