//! Signed engines for the `signed_message` target: the same small zone with
//! an NSEC chain, or with an NSEC3 chain (salt, 0 iterations, real hashes),
//! every RRset with a signature. Signatures are fake (the engine copies
//! them, it never checks them); the chains are real, so DO=1 answers walk
//! them at answer time as they do for a zone signed by a real signer.

use std::sync::OnceLock;

use responder::engine::{Engine, Options};
use responder::table::nsec3_hash::nsec3_hash;
use responder::table::Table;

const ORIGIN: &str = "example.com.";
const SIG: &str = "13 2 3600 20300101000000 20200101000000 4711 example.com. AAECAwQFBgcICQ==";
const SALT: [u8; 2] = [0x0a, 0x1b];

/// (owner relative to the origin, "@" for the apex; type; RDATA).
const RECORDS: &[(&str, &str, &str)] = &[
    ("@", "SOA", "ns1 hostmaster 1 7200 3600 1209600 300"),
    ("@", "NS", "ns1"),
    ("@", "MX", "10 mail"),
    ("@", "DNSKEY", "257 3 13 AAECAwQFBgcICQ=="),
    ("ns1", "A", "198.18.0.53"),
    ("mail", "A", "198.18.0.25"),
    ("www", "A", "198.18.0.80"),
    ("www", "AAAA", "fd00::80"),
    ("alias", "CNAME", "www"),
    ("dangling", "CNAME", "nothere"),
    ("deep.ent", "A", "198.18.0.90"),
    ("*.wild", "A", "198.18.1.1"),
    ("*.wild", "TXT", "\"wild\""),
    ("sub.ent.wild", "A", "198.18.1.2"),
    ("old", "DNAME", "new.example.com."),
    ("w2", "DNAME", "wild.example.com."),
    ("www.new", "A", "198.18.0.81"),
    ("sec", "NS", "ns.sec"),
    ("sec", "DS", "1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"),
    ("ns.sec", "A", "198.18.2.53"),
    ("ins", "NS", "ns.ins"),
    ("ns.ins", "A", "198.18.3.53"),
];

/// Glue below a cut: neither signed nor in a chain.
const GLUE: &[&str] = &["ns.sec", "ns.ins"];
/// Names that exist only because something is below them.
const EMPTY_NON_TERMINALS: &[&str] = &["ent", "wild", "ent.wild", "new"];

fn fqdn(owner: &str) -> String {
    if owner == "@" {
        ORIGIN.to_string()
    } else {
        format!("{owner}.{ORIGIN}")
    }
}

/// Canonical order (RFC 4034 §6.1) of lowercase names: labels from the root.
fn canonical_key(name: &str) -> Vec<Vec<u8>> {
    name.trim_end_matches('.').split('.').rev().map(|l| l.as_bytes().to_vec()).collect()
}

fn wire(name: &str) -> Vec<u8> {
    let mut w = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        w.push(label.len() as u8);
        w.extend_from_slice(label.as_bytes());
    }
    w.push(0);
    w
}

use testkit::base32hex::encode as base32hex;

/// The zone text, signed, with an NSEC or an NSEC3 chain.
pub fn zone_text(nsec3: bool) -> String {
    let mut z = format!("$ORIGIN {ORIGIN}\n$TTL 3600\n");
    let mut owners: Vec<&str> = Vec::new();
    for &(owner, rtype, rdata) in RECORDS {
        z.push_str(&format!("{owner} {rtype} {rdata}\n"));
        // At a cut only the DS (and the NSEC) are the parent's to sign.
        let at_cut = rtype == "NS" && owner != "@";
        if !GLUE.contains(&owner) && !at_cut {
            z.push_str(&format!("{owner} RRSIG {rtype} {SIG}\n"));
        }
        if !GLUE.contains(&owner) && !owners.contains(&owner) {
            owners.push(owner);
        }
    }
    if nsec3 {
        z.push_str(&format!("@ 0 NSEC3PARAM 1 0 0 {}\n", hex(&SALT)));
        z.push_str(&format!("@ 0 RRSIG NSEC3PARAM {SIG}\n"));
        let mut hashes: Vec<String> = owners
            .iter()
            .chain(EMPTY_NON_TERMINALS)
            .map(|o| base32hex(&nsec3_hash(&wire(&fqdn(o)), &SALT, 0)))
            .collect();
        hashes.sort();
        for (i, h) in hashes.iter().enumerate() {
            let next = &hashes[(i + 1) % hashes.len()];
            z.push_str(&format!("{h} 300 NSEC3 1 0 0 {} {} A RRSIG\n", hex(&SALT), next.to_uppercase()));
            z.push_str(&format!("{h} 300 RRSIG NSEC3 {SIG}\n"));
        }
    } else {
        owners.sort_by_key(|o| canonical_key(&fqdn(o)));
        for (i, o) in owners.iter().enumerate() {
            let next = fqdn(owners[(i + 1) % owners.len()]);
            z.push_str(&format!("{o} 300 NSEC {next} A NS SOA MX RRSIG NSEC DNSKEY\n"));
            z.push_str(&format!("{o} 300 RRSIG NSEC {SIG}\n"));
        }
    }
    z
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn build(nsec3: bool) -> Engine {
    let text = zone_text(nsec3);
    let zone = responder::zone::parse_str(&text, "signed.zone", None).expect("the signed fuzz zone parses");
    let table = Table::compile(&[zone]).expect("the signed fuzz zone compiles");
    Engine::new(table, Options::default())
}

/// The engine over the zone signed with NSEC (`nsec3` false) or NSEC3.
pub fn engine(nsec3: bool) -> &'static Engine {
    static NSEC: OnceLock<Engine> = OnceLock::new();
    static NSEC3: OnceLock<Engine> = OnceLock::new();
    if nsec3 {
        NSEC3.get_or_init(|| build(true))
    } else {
        NSEC.get_or_init(|| build(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use responder::engine::{answer_message, Transport};

    /// (rcode, ancount, nscount) of a DO=1 answer.
    fn ask(nsec3: bool, name: &str, qtype: u16) -> (u8, u16, u16) {
        let q = crate::query(name, qtype);
        let mut buf = vec![0u8; 4096];
        buf[..q.len()].copy_from_slice(&q);
        let n = answer_message(engine(nsec3), &mut buf, q.len(), Transport::Udp).expect("an answer");
        assert!(n > 12);
        let word = |at: usize| u16::from_be_bytes([buf[at], buf[at + 1]]);
        (buf[3] & 0xf, word(6), word(8))
    }

    #[test]
    fn both_chains_serve_signatures_and_proofs() {
        for nsec3 in [false, true] {
            // A, RRSIG.
            assert_eq!(ask(nsec3, "www.example.com", 1), (0, 2, 0), "nsec3 {nsec3}");
            // DNAME, RRSIG, CNAME, A, RRSIG.
            assert_eq!(ask(nsec3, "www.old.example.com", 1), (0, 5, 0), "nsec3 {nsec3}");
            // SOA, RRSIG and at least one proof with its RRSIG.
            let (rcode, an, ns) = ask(nsec3, "nothere.example.com", 1);
            assert_eq!((rcode, an), (3, 0), "nsec3 {nsec3}");
            assert!(ns >= 4, "nsec3 {nsec3}: {ns} authority records");
        }
    }
}
