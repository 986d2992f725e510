//! Typed, bounds-checked views over the bytes of a frame, in the manner of
//! smoltcp's `wire`: each header type wraps a byte slice and offers getters
//! and setters at fixed offsets. Constructors check the length once, so the
//! accessors cannot read out of bounds.

pub mod checksum;
pub mod dns;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod udp;

#[inline(always)]
pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
