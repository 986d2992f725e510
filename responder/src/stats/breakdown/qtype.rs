//! The query types counted apart (the ones operators chart), by a lookup
//! table: one bounds compare and one load per response.

use crate::wire::dns::RType;

/// Label values, in cell order; every other type is counted as `other`.
pub const QTYPES: [&str; 16] = [
    "A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "PTR", "SRV", "DS", "DNSKEY", "HTTPS", "SVCB", "CAA", "ANY",
    "other",
];

const OTHER: u8 = QTYPES.len() as u8 - 1;

/// The types of `QTYPES` in the same order (`other` excluded).
const NUMBERS: [RType; 15] = [
    RType::A,
    RType::AAAA,
    RType::NS,
    RType::SOA,
    RType::MX,
    RType::TXT,
    RType::CNAME,
    RType::PTR,
    RType::SRV,
    RType::DS,
    RType::DNSKEY,
    RType::HTTPS,
    RType::SVCB,
    RType::CAA,
    RType::ANY,
];

/// Covers every counted type (CAA, 257, is the largest).
const TABLE_LEN: usize = 258;

static INDEX: [u8; TABLE_LEN] = {
    let mut table = [OTHER; TABLE_LEN];
    let mut i = 0;
    while i < NUMBERS.len() {
        table[NUMBERS[i].0 as usize] = i as u8;
        i += 1;
    }
    table
};

/// The cell of `qtype` in `QTYPES`.
#[inline(always)]
pub fn index(qtype: u16) -> usize {
    (INDEX.get(qtype as usize).copied().unwrap_or(OTHER) & 15) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_counted_type_has_its_cell_and_the_rest_share_other() {
        for (name, rtype) in RType::MNEMONICS {
            let want = QTYPES.iter().position(|q| q == name).unwrap_or(QTYPES.len() - 1);
            assert_eq!(index(rtype.0), want, "{name}");
        }
        for qtype in [0u16, 258, 4096, u16::MAX] {
            assert_eq!(QTYPES[index(qtype)], "other");
        }
    }
}
