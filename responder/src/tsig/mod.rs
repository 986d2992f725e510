//! TSIG (RFC 8945): transaction signatures with shared HMAC keys, for
//! signed queries and their answers, and for zone transfers.
//!
//! - `algorithm`: the HMAC algorithms and the MAC type, over RustCrypto's
//!   `hmac`, `sha1` and `sha2` (no hand-written crypto; MACs compared in
//!   constant time by `Mac::verify_truncated_left`);
//! - `key`: [`Key`] (Knot's `key:` section: id, algorithm, base64 secret)
//!   and the [`Keyring`] a server looks names up in;
//! - `record`: finding, reading and writing the TSIG record;
//! - `digest`: what a MAC covers; `sign` and `verify` on top of it, for
//!   single messages and multi-message streams ([`StreamSigner`],
//!   [`StreamVerifier`]);
//! - `error`: the failures and their TSIG error codes.
//!
//! Nothing here allocates on the way through a single message except
//! [`sign_message`]'s `Vec` growth; the engine signs in place.

mod algorithm;
mod digest;
mod error;
mod key;
pub mod record;
mod sign;
mod verify;

pub use algorithm::{Algorithm, Mac, MAX_MAC_LEN};
pub use error::{code, name as error_name, Failure};
pub use key::{Key, Keyring};
pub use sign::{
    append_rejection, append_unsigned, record_len, sign_in_place, sign_message, Rejection, Signing, StreamSigner, FUDGE,
};
pub use verify::{verify_message, verify_request, Rejected, Request, StreamVerifier, Verified, MAX_UNSIGNED_RUN};

/// Seconds since the epoch, as Time Signed counts them. A clock before
/// 1970 reads as 0 (every signature then fails BADTIME rather than panics).
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A wire name in presentation form, for logs (`xfr.example.`).
pub fn presentation(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 {
            break;
        }
        let label = wire.get(pos + 1..pos + 1 + len as usize).unwrap_or_default();
        for &b in label {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\{b:03}"));
            }
        }
        out.push('.');
        pos += 1 + len as usize;
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests;
