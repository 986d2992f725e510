//! The precompiled table: every answer the zones can give, in wire format.
pub struct Table {
    bytes: Vec<u8>,
}
impl Table {
    pub fn empty() -> Table {
        Table { bytes: Vec::new() }
    }
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }
}
