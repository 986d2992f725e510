//! The TSIG record reader (`tsig::record::locate`) and the request check
//! (`tsig::verify_request`) over arbitrary messages.
//!
//! Input: a DNS message. Whatever it holds, reading never panics; a record
//! that reads writes back (lowered, uncompressed) into one that reads the
//! same; and the check answers with a value, never a panic.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use responder::tsig::{self, record, Key, Keyring};

fn keys() -> &'static Keyring {
    static KEYS: OnceLock<Keyring> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |id, alg| Key::from_text(id, alg, "ZnV6ei1zZWNyZXQ=").expect("a valid key");
        Keyring::new(vec![key("key", "hmac-sha256"), key("sha1.key", "hmac-sha1")]).expect("distinct names")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(r)) = record::locate(data) {
        assert!(r.start < data.len(), "the record starts inside the message");
        let fields = record::Fields {
            key_name: r.key_name.as_slice(),
            algorithm: r.algorithm.as_slice(),
            time_signed: r.time_signed,
            fudge: r.fudge,
            mac: r.mac,
            original_id: r.original_id,
            error: r.error,
            other: r.other,
        };
        let mut again = data[..r.start].to_vec();
        again.resize(r.start + fields.wire_len(), 0);
        if fields.write(&mut again, r.start).is_some() {
            let back = record::locate(&again).expect("a written record reads").expect("and is found");
            assert_eq!(back.key_name.as_slice(), r.key_name.as_slice());
            assert_eq!(back.algorithm.as_slice(), r.algorithm.as_slice());
            assert_eq!((back.time_signed, back.fudge, back.mac), (r.time_signed, r.fudge, r.mac));
            assert_eq!((back.original_id, back.error, back.other), (r.original_id, r.error, r.other));
        }
    }
    let _ = tsig::verify_request(keys(), data, 1_700_000_000);
});
