//! Ethernet II with up to two VLAN tags (802.1Q, and 802.1ad QinQ outside it).

pub const HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
const TAG_LEN: usize = 4;
const MAX_TAGS: usize = 2;

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
    let mut offset = HEADER_LEN - 2;
    for _ in 0..=MAX_TAGS {
        let ethertype = super::get_u16(frame.get(..offset + 2)?, offset);
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

/// Swaps destination and source MAC: the answer goes back where the query came from.
#[inline]
pub fn swap_macs(frame: &mut [u8]) {
    if frame.len() >= 12 {
        let (dst, src) = frame[..12].split_at_mut(6);
        dst.swap_with_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        swap_macs(&mut f);
        assert_eq!(&f[..12], &[6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]);
        assert!(is_group(&[0xff; 6]) && !is_group(&[0x02, 0, 0, 0, 0, 1]));
    }
}
