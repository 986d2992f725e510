//! The tier-0 map's key and value, byte for byte as `struct t0_key` and
//! `struct t0_answer` in `ebpf/xdp_dns.h` (a unit test reads the header's
//! constants, and aya checks both sizes against the map when it opens it).
//!
//! [`Key`] is what an answer is for (the name itself); [`MapKey`] is what
//! the map is keyed by: a fixed 16 bytes, the name's hash in place of the
//! name, which the value carries and the program compares after the lookup.

use super::hash::name_hash;

/// `T0_NAME_MAX`: the longest question name (wire form) a key holds.
pub const NAME_MAX: usize = 64;
/// `T0_ANSWER_MAX`: the longest answer part after the question.
pub const ANSWER_MAX: usize = 1232;
/// `T0_MAX_ENTRIES`: map capacity, both generations together.
pub const MAX_ENTRIES: u32 = 65536;

/// Which EDNS the query carries (`T0_SHAPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Shape {
    /// No OPT: the answer fits 512 bytes.
    NoEdns = 0,
    /// A plain OPT (version 0, no options), DO clear.
    Edns = 1,
    /// The same with DO set.
    EdnsDo = 2,
}

impl Shape {
    pub const ALL: [Shape; 3] = [Shape::NoEdns, Shape::Edns, Shape::EdnsDo];
}

/// What an answer is for: the compiler's and the learner's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Key {
    /// 1 or 2: the generation `t0_state` names is served.
    pub generation: u8,
    pub shape: u8,
    /// Host order.
    pub qtype: u16,
    /// The lowercased wire name, zero padded.
    pub name: [u8; NAME_MAX],
}

impl Key {
    /// The name's wire length, its labels walked up to and with the root
    /// label (a label's bytes may be zero too); [`NAME_MAX`] for a name
    /// that does not end within the key, which no query matches.
    pub fn name_len(&self) -> usize {
        let mut at = 0;
        while let Some(&len) = self.name.get(at) {
            if len == 0 {
                return at + 1;
            }
            at += 1 + usize::from(len);
        }
        NAME_MAX
    }

    /// The map's key for this answer: the name's hash, not the name.
    pub fn map_key(&self) -> MapKey {
        let name_len = self.name_len();
        MapKey {
            hash: name_hash(&self.name, name_len),
            qtype: self.qtype,
            shape: self.shape,
            generation: self.generation,
            name_len: name_len as u8,
            pad: [0; 3],
        }
    }
}

/// `struct t0_key`: the map's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct MapKey {
    /// [`name_hash`] of the lowercased name.
    pub hash: u64,
    /// Host order.
    pub qtype: u16,
    pub shape: u8,
    /// 1 or 2: the generation `t0_state` names is served.
    pub generation: u8,
    pub name_len: u8,
    pub pad: [u8; 3],
}

// SAFETY: plain integers and bytes with no padding (8 + 2 + 1 + 1 + 1 + 3,
// alignment 8), valid for any bit pattern; what aya::Pod asks for copying
// to and from the kernel.
unsafe impl aya::Pod for MapKey {}

/// `struct t0_cells`: the counter cells (`ebpf/tier0_stats.h`) of an answer
/// sent as compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct CounterCells {
    pub qtype: u8,
    pub rcode: u8,
    pub query_size: u8,
    pub response_size: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Answer {
    /// The lowercased wire name, zero padded: the program compares the
    /// query's with it after the lookup.
    pub name: [u8; NAME_MAX],
    /// The answer's header with ID 0 and RD, CD clear.
    pub header: [u8; 12],
    /// Host order: the smallest EDNS UDP size this answer is given to (0: any).
    pub min_udp: u16,
    /// Host order: how many bytes of `rest` follow the question.
    pub rest_len: u16,
    /// Ones' complement sum, folded to 16 bits, of big-endian words: the
    /// header, qtype, qclass and rest, each at its offset in the message.
    pub sum: u32,
    pub cells: CounterCells,
    pub rest: [u8; ANSWER_MAX],
}

// SAFETY: plain bytes with no padding (64 + 12 + 2 + 2 + 4 + 4 + 1232,
// alignment 4, size a multiple of 4), valid for any bit pattern.
unsafe impl aya::Pod for Answer {}

impl Answer {
    /// The bytes after the question.
    pub fn rest(&self) -> &[u8] {
        &self.rest[..(self.rest_len as usize).min(ANSWER_MAX)]
    }
}

/// The value of `#define NAME VALUE` in `ebpf/xdp_dns.h`, as written: the
/// tests that hold Rust's copies of the C constants to the header.
#[cfg(test)]
pub(super) fn header_define_text(name: &str) -> &'static str {
    let text = include_str!("../../../../ebpf/xdp_dns.h");
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("{name} missing from xdp_dns.h"));
    line.split_whitespace().nth(2).expect("a value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_define(name: &str) -> usize {
        header_define_text(name).parse().expect("a number")
    }

    #[test]
    fn the_layout_is_the_c_headers() {
        assert_eq!(header_define("T0_NAME_MAX"), NAME_MAX);
        assert_eq!(header_define("T0_ANSWER_MAX"), ANSWER_MAX);
        assert_eq!(header_define("T0_MAX_ENTRIES"), MAX_ENTRIES as usize);
        assert_eq!(header_define("T0_SHAPE_NO_EDNS"), Shape::NoEdns as usize);
        assert_eq!(header_define("T0_SHAPE_EDNS"), Shape::Edns as usize);
        assert_eq!(header_define("T0_SHAPE_EDNS_DO"), Shape::EdnsDo as usize);
        assert_eq!(std::mem::size_of::<MapKey>(), 16);
        assert_eq!(std::mem::offset_of!(MapKey, qtype), 8);
        assert_eq!(std::mem::offset_of!(MapKey, name_len), 12);
        assert_eq!(std::mem::size_of::<Answer>(), NAME_MAX + 24 + ANSWER_MAX);
        assert_eq!(std::mem::offset_of!(Answer, header), NAME_MAX);
        assert_eq!(std::mem::offset_of!(Answer, cells), NAME_MAX + 20);
        assert_eq!(std::mem::offset_of!(Answer, rest), NAME_MAX + 24);
    }
}
