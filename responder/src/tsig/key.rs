//! TSIG keys: a name, an algorithm and a shared secret, as Knot's `key:`
//! section has them (`id`, `algorithm`, `secret` in base64).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;

use super::algorithm::{Algorithm, Hasher};

/// A shared secret and what it is known by.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    id: String,
    /// The id as a lowered, uncompressed wire name: how the TSIG record
    /// names the key and how the digest covers it.
    name: Vec<u8>,
    algorithm: Algorithm,
    secret: Vec<u8>,
}

impl Key {
    /// `id` is a domain name (a trailing dot optional), as in Knot.
    pub fn new(id: &str, algorithm: Algorithm, secret: Vec<u8>) -> Result<Key, String> {
        let name = wire_name(id)?;
        if secret.is_empty() {
            return Err(format!("key {id}: the secret is empty"));
        }
        Ok(Key { id: id.trim_end_matches('.').to_string(), name, algorithm, secret })
    }

    /// From a config's strings: the algorithm's mnemonic (`hmac-sha256`) and
    /// the secret in base64, as Knot and `kdig -y` take them.
    pub fn from_text(id: &str, algorithm: &str, secret: &str) -> Result<Key, String> {
        let Some(alg) = Algorithm::from_mnemonic(algorithm.trim()) else {
            let known: Vec<_> = Algorithm::ALL.iter().map(|a| a.mnemonic()).collect();
            return Err(format!("key {id}: unknown algorithm {algorithm:?} (known: {})", known.join(", ")));
        };
        let secret = base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .map_err(|e| format!("key {id}: the secret is not base64: {e}"))?;
        Key::new(id, alg, secret)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The lowered wire name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub(super) fn hasher(&self) -> Hasher {
        self.algorithm.hasher(&self.secret)
    }
}

/// Never the secret: keys end up in logs through `{:?}` of the options.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("id", &self.id).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

/// The keys a server knows, looked up by the name a TSIG record carries.
/// Cheap to clone: the engine's options are cloned at each reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring(Arc<[Key]>);

impl Keyring {
    /// Refuses two keys with one name: a signed message names its key, and
    /// which of two secrets it meant could not be told.
    pub fn new(keys: Vec<Key>) -> Result<Keyring, String> {
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.name == key.name) {
                return Err(format!("key {} is defined twice", key.id));
            }
        }
        Ok(Keyring(keys.into()))
    }

    /// The key named by `lowered` (a lowered wire name).
    pub fn find(&self, lowered: &[u8]) -> Option<&Key> {
        self.0.iter().find(|k| k.name == lowered)
    }

    /// The key whose id is `id` (config references: `[[acl]] key`).
    pub fn by_id(&self, id: &str) -> Option<&Key> {
        let id = id.trim_end_matches('.');
        self.0.iter().find(|k| k.id.eq_ignore_ascii_case(id))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.0.iter()
    }
}

/// A domain name's text as a lowered wire name. Key names are plain
/// hostnames in practice: escapes are refused rather than half-read.
fn wire_name(text: &str) -> Result<Vec<u8>, String> {
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    if trimmed.is_empty() {
        return Err("a key id must be a domain name, not empty or the root".into());
    }
    let mut wire = Vec::with_capacity(trimmed.len() + 2);
    for label in trimmed.split('.') {
        if label.is_empty() || label.len() > 63 || label.contains(['\\', ' ']) {
            return Err(format!("key id {text:?} is not a domain name (empty or long label, escape or space)"));
        }
        wire.push(label.len() as u8);
        wire.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    wire.push(0);
    if wire.len() > 255 {
        return Err(format!("key id {text:?} is longer than a domain name may be"));
    }
    Ok(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_from_config_text() {
        let key = Key::from_text("Xfr.Example.", "HMAC-SHA256", "c2VjcmV0").unwrap();
        assert_eq!(key.id(), "Xfr.Example");
        assert_eq!(key.name(), b"\x03xfr\x07example\x00");
        assert_eq!(key.algorithm(), Algorithm::HmacSha256);
        assert!(!format!("{key:?}").contains("secret\""), "no secret in Debug");
    }

    #[test]
    fn bad_keys_say_why() {
        assert!(Key::from_text("k", "hmac-md5", "c2VjcmV0").unwrap_err().contains("unknown algorithm"));
        assert!(Key::from_text("k", "hmac-sha1", "not base64!").unwrap_err().contains("base64"));
        assert!(Key::from_text("k", "hmac-sha1", "").unwrap_err().contains("empty"));
        assert!(Key::from_text("", "hmac-sha1", "c2VjcmV0").is_err());
        assert!(Key::from_text("a..b", "hmac-sha1", "c2VjcmV0").is_err());
        let long = "a".repeat(64);
        assert!(Key::from_text(&long, "hmac-sha1", "c2VjcmV0").is_err());
    }

    #[test]
    fn a_keyring_finds_by_wire_name_and_refuses_twins() {
        let a = Key::from_text("a.example", "hmac-sha1", "c2VjcmV0").unwrap();
        let b = Key::from_text("b", "hmac-sha512", "c2VjcmV0").unwrap();
        let ring = Keyring::new(vec![a.clone(), b]).unwrap();
        assert_eq!(ring.find(b"\x01a\x07example\x00").map(Key::id), Some("a.example"));
        assert_eq!(ring.by_id("A.example.").map(Key::id), Some("a.example"));
        assert!(ring.find(b"\x01c\x00").is_none());
        assert!(Keyring::new(vec![a.clone(), a]).unwrap_err().contains("twice"));
    }
}
