//! Reading the file: bounded, and refused with a position when it is not
//! UTF-8 (TOML must be).

use std::io::Read;
use std::path::Path;

use super::position::location;

/// Far beyond any real configuration (a [[zone]] takes about 60 bytes); a
/// guard against `--config /dev/zero`, not a limit anyone should meet.
pub const MAX_BYTES: u64 = 64 << 20;

pub fn read_text(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("{}: cannot read the configuration file: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("{}: the configuration file is larger than {MAX_BYTES} bytes", path.display()));
    }
    decode(bytes, path)
}

/// The file's bytes as text, or where the first byte that is not UTF-8 is.
pub fn decode(bytes: Vec<u8>, path: &Path) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // Everything before the bad byte is valid UTF-8, so it can be counted in.
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        format!(
            "{}: not UTF-8 (byte 0x{:02x}); a TOML file must be UTF-8 text",
            location(path, before, valid),
            bytes.get(valid).copied().unwrap_or_default()
        )
    })
}
