//! The compiler's work spread over threads (`parallel`, `prepare`) gives
//! the table one thread gives, byte for byte, for a signed zone (NSEC3 and
//! NSEC) large enough to be split (several batches of nodes, each shared
//! out) with delegations, glue, a wildcard and a CNAME.

use super::compile::compile;
use super::nsec3_hash::nsec3_hash;
use super::parallel::with_threads;
use crate::zone::{parse_str, Name};

pub(super) const SIG: &str = "13 2 3600 20300101000000 20200101000000 4711 example.com. AAECAwQFBgcICQ==";

pub(super) fn signed_zone(names: usize, nsec3: bool) -> String {
    let mut z = String::from(
        "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n\
         ns1 A 198.18.0.53\n* TXT \"wild\"\nalias CNAME h1\n",
    );
    let mut owners: Vec<String> = vec!["@".into(), "ns1".into(), "*".into(), "alias".into()];
    for (o, t) in [("@", "SOA"), ("@", "NS"), ("ns1", "A"), ("*", "TXT"), ("alias", "CNAME")] {
        z.push_str(&format!("{o} RRSIG {t} {SIG}\n"));
    }
    for i in 0..names {
        if i % 10 == 0 {
            // An unsigned delegation with glue: no RRSIG, no NSEC3 of its own glue.
            z.push_str(&format!("d{i} NS ns.d{i}\nns.d{i} A 198.18.1.1\n"));
        } else {
            z.push_str(&format!("h{i} A 198.18.0.{}\nh{i} RRSIG A {SIG}\n", i % 250));
        }
        owners.push(if i % 10 == 0 { format!("d{i}") } else { format!("h{i}") });
    }
    let full = |o: &str| if o == "@" { "example.com.".to_string() } else { format!("{o}.example.com.") };
    if nsec3 {
        let mut hashes: Vec<String> = owners
            .iter()
            .map(|o| {
                let name = Name::parse(&full(o), None).unwrap().unwrap().to_lowercase();
                testkit::base32hex::encode(&nsec3_hash(name.wire(), &[0xab], 0))
            })
            .collect();
        hashes.sort();
        z.push_str(&format!("@ 0 NSEC3PARAM 1 0 0 ab\n@ 0 RRSIG NSEC3PARAM {SIG}\n"));
        for (i, h) in hashes.iter().enumerate() {
            let next = hashes[(i + 1) % hashes.len()].to_uppercase();
            z.push_str(&format!("{h} 300 NSEC3 1 0 0 ab {next} A RRSIG\n{h} 300 RRSIG NSEC3 {SIG}\n"));
        }
    } else {
        // Not in canonical order: the compiler sorts the chain; each NSEC
        // names some other owner, which is all the compile needs here.
        for (i, o) in owners.iter().enumerate() {
            let next = full(&owners[(i + 1) % owners.len()]);
            z.push_str(&format!("{} 300 NSEC {next} A RRSIG NSEC\n{} 300 RRSIG NSEC {SIG}\n", full(o), full(o)));
        }
    }
    z
}

#[test]
fn two_threads_write_the_bytes_one_thread_writes() {
    for nsec3 in [true, false] {
        let zone = parse_str(&signed_zone(9_000, nsec3), "t.zone", None).unwrap();
        let one = with_threads(1, || compile(&[&zone], &mut Vec::new()).unwrap());
        let two = with_threads(2, || compile(&[&zone], &mut Vec::new()).unwrap());
        assert!(one[..] == two[..], "nsec3 {nsec3}: the tables differ");
        assert!(super::Table::from_buf(two).is_ok());
    }
}
