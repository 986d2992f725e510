//! Ethernet II with up to two VLAN tags (802.1Q, and 802.1ad QinQ outside it).

pub const HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
const TAG_LEN: usize = 4;
const MAX_TAGS: usize = 2;

mod field {
    use crate::wire::Field;
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    /// The EtherType, or a VLAN tag's TPID: a tag's own EtherType follows
    /// it at `ETHERTYPE.start + TAG_LEN`.
    pub const ETHERTYPE: Field = 12..14;
    pub const MACS: Field = DST.start..SRC.end;
}

/// The fixed Ethernet header (addresses and the first EtherType or tag) as
/// an array. `Header<&[u8; 14]>` reads; `Header<&mut [u8; 14]>` also swaps
/// the addresses for the reply.
pub struct Header<T>(T);

impl<'a> Header<&'a [u8; HEADER_LEN]> {
    /// The header at the start of `frame`; `None` when it is shorter.
    #[inline]
    pub fn new_checked(frame: &'a [u8]) -> Option<Self> {
        frame.first_chunk().map(Header)
    }
}

impl<'a> Header<&'a mut [u8; HEADER_LEN]> {
    #[inline]
    pub fn new_checked_mut(frame: &'a mut [u8]) -> Option<Self> {
        frame.first_chunk_mut().map(Header)
    }

    /// Swaps destination and source MAC: the answer goes back where the
    /// query came from.
    #[inline]
    pub fn swap_macs(&mut self) {
        let (dst, src) = self.0[field::MACS].split_at_mut(field::SRC.start);
        dst.swap_with_slice(src);
    }
}

impl<T: core::ops::Deref<Target = [u8; HEADER_LEN]>> Header<T> {
    #[inline]
    pub fn dst(&self) -> &[u8] {
        &self.0[field::DST]
    }
    #[inline]
    pub fn src(&self) -> &[u8] {
        &self.0[field::SRC]
    }
    #[inline]
    pub fn ethertype(&self) -> u16 {
        super::be16(&self.0, field::ETHERTYPE)
    }
}

/// Where the network layer starts and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer3 {
    pub offset: usize,
    pub ethertype: u16,
}

/// Finds the network layer behind the Ethernet header and any VLAN tags.
/// `None` for a frame too short or with more tags than we handle.
#[inline]
pub fn layer3(frame: &[u8]) -> Option<Layer3> {
    let mut offset = field::ETHERTYPE.start;
    for _ in 0..=MAX_TAGS {
        let bytes = frame.get(offset..)?.first_chunk::<2>()?;
        let ethertype = u16::from_be_bytes(*bytes);
        if ethertype != ETHERTYPE_VLAN && ethertype != ETHERTYPE_QINQ {
            return Some(Layer3 { offset: offset + 2, ethertype });
        }
        offset += TAG_LEN;
    }
    None
}

/// True for a group (multicast or broadcast) MAC address.
#[inline]
pub fn is_group(mac: &[u8]) -> bool {
    mac.first().is_some_and(|b| b & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_layer3_behind_tags() {
        let mut f = vec![0u8; 30];
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        assert_eq!(layer3(&f), Some(Layer3 { offset: 14, ethertype: ETHERTYPE_IPV4 }));
        f[12..14].copy_from_slice(&ETHERTYPE_QINQ.to_be_bytes());
        f[16..18].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f[20..22].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        assert_eq!(layer3(&f), Some(Layer3 { offset: 22, ethertype: ETHERTYPE_IPV6 }));
        f[20..22].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        assert_eq!(layer3(&f), None, "three tags are refused");
        assert_eq!(layer3(&f[..13]), None);
        assert_eq!(layer3(&f[..19]), None, "cut inside the second tag");
    }

    #[test]
    fn swaps_macs() {
        let mut f: Vec<u8> = (0..14).collect();
        Header::new_checked_mut(&mut f).unwrap().swap_macs();
        assert_eq!(&f[..12], &[6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]);
        assert!(Header::new_checked_mut(&mut f[..13]).is_none());
        assert!(is_group(&[0xff; 6]) && !is_group(&[0x02, 0, 0, 0, 0, 1]));
    }

    proptest! {
        /// Any bytes: a header when there are fourteen, `None` otherwise;
        /// `layer3` never reads past the bytes and points inside them.
        #[test]
        fn any_bytes_give_a_header_or_none(bytes in proptest::collection::vec(any::<u8>(), 0..40), tags in 0usize..4) {
            let mut bytes = bytes;
            for t in 0..tags {
                if let Some(tpid) = bytes.get_mut(12 + 4 * t..14 + 4 * t) {
                    tpid.copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
                }
            }
            match Header::new_checked(&bytes) {
                None => prop_assert!(bytes.len() < HEADER_LEN),
                Some(h) => {
                    prop_assert_eq!(h.dst(), &bytes[..6]);
                    prop_assert_eq!(h.src(), &bytes[6..12]);
                    prop_assert_eq!(h.ethertype(), u16::from_be_bytes([bytes[12], bytes[13]]));
                }
            }
            if let Some(l3) = layer3(&bytes) {
                prop_assert!(l3.offset <= bytes.len());
                prop_assert_eq!(l3.ethertype, u16::from_be_bytes([bytes[l3.offset - 2], bytes[l3.offset - 1]]));
            }
        }
    }
}
