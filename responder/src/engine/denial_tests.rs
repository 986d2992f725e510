//! The proofs the compiler finds for each possible closest encloser
//! (`format`, FLAG_DENIAL) are the ones the engine would find by hashing
//! and searching. For random signed zones (NSEC and NSEC3) and random query
//! names: each node's precompiled entries are the ones `Chain::proof`
//! finds by name, and the answers from the table as compiled are the bytes
//! the same table gives with those entries stripped (the engine then
//! searches by name, as before they existed).

use std::collections::BTreeSet;

use hickory_proto::rr::RecordType;
use proptest::prelude::*;

use super::prehashed::Searched;
use super::tests::query_bytes;
use super::*;
use crate::table::denial::canonical_cmp;
use crate::table::format::FLAG_DENIAL;
use crate::table::nsec3_hash::nsec3_hash;
use crate::table::Table;
use crate::zone::Name;

const SIG: &str = "13 2 3600 20300101000000 20200101000000 4711 example.com. AAECAwQFBgcICQ==";
const SALT: [u8; 2] = [0x0a, 0x1b];

fn wire(name: &str) -> Vec<u8> {
    Name::parse(name, None).unwrap().unwrap().to_lowercase().wire().to_vec()
}

use testkit::base32hex::encode as base32hex;

/// example.com. with an A (and its RRSIG) at each of `owners`, a signed
/// delegation with glue, and an NSEC3 chain (salt, 0 iterations, over
/// every name and empty non-terminal) or an NSEC chain in canonical order.
fn signed_zone(owners: &BTreeSet<String>, nsec3: bool) -> String {
    let mut z = String::from(
        "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n\
         ns1 A 198.18.0.53\ndel NS ns.del\nns.del A 198.18.0.9\n",
    );
    let mut data: Vec<String> = vec!["example.com.".into(), "ns1.example.com.".into(), "del.example.com.".into()];
    for o in owners {
        z.push_str(&format!("{o} A 198.18.0.7\n{o} RRSIG A {SIG}\n"));
        data.push(format!("{o}.example.com."));
    }
    for (o, t) in [("@", "SOA"), ("@", "NS"), ("ns1", "A")] {
        z.push_str(&format!("{o} RRSIG {t} {SIG}\n"));
    }
    if nsec3 {
        // Every name and every empty non-terminal above one.
        let mut all: BTreeSet<Vec<u8>> = BTreeSet::new();
        for d in &data {
            let mut n = Name::parse(d, None).unwrap().unwrap();
            while n.label_count() >= 2 {
                all.insert(n.to_lowercase().wire().to_vec());
                n = n.parent().unwrap();
            }
        }
        let mut hashes: Vec<String> = all.iter().map(|w| base32hex(&nsec3_hash(w, &SALT, 0))).collect();
        hashes.sort();
        z.push_str(&format!("@ 0 NSEC3PARAM 1 0 0 0a1b\n@ 0 RRSIG NSEC3PARAM {SIG}\n"));
        for (i, h) in hashes.iter().enumerate() {
            let next = hashes[(i + 1) % hashes.len()].to_uppercase();
            z.push_str(&format!("{h} 300 NSEC3 1 0 0 0a1b {next} A RRSIG\n{h} 300 RRSIG NSEC3 {SIG}\n"));
        }
    } else {
        data.sort_by(|a, b| canonical_cmp(&wire(a), &wire(b)).unwrap());
        for (i, d) in data.iter().enumerate() {
            let next = &data[(i + 1) % data.len()];
            z.push_str(&format!("{d} 300 NSEC {next} A RRSIG NSEC\n{d} 300 RRSIG NSEC {SIG}\n"));
        }
    }
    z
}

/// The table with every node's precompiled proofs stripped, resealed.
fn without_precompiled_proofs(table: &Table) -> Table {
    let mut bytes = table.as_bytes().to_vec();
    let mut stripped = 0;
    for off in table.bucket_offsets() {
        let flags = off as usize + 1 + bytes[off as usize] as usize;
        stripped += usize::from(bytes[flags] & FLAG_DENIAL != 0);
        bytes[flags] &= !FLAG_DENIAL;
    }
    assert!(stripped > 0, "no node had precompiled proofs");
    crate::table::seal(&mut bytes);
    Table::from_bytes(bytes).expect("the stripped table loads")
}

/// Every precompiled entry is the one found by name.
fn check_nodes(table: &Table) -> Result<(), TestCaseError> {
    let chain = table.denial_chain(0).expect("a signed zone has a chain");
    for off in table.bucket_offsets() {
        let node = table.node_at(off).unwrap();
        let Some(wild) = node.denial_proof(0) else {
            prop_assert!(node.is_cut(), "{:?} has no precompiled proofs", node.name());
            continue;
        };
        let mut star = b"\x01*".to_vec();
        star.extend_from_slice(node.name());
        let id = |p: Option<crate::table::denial::Proof<'_>>| p.map(|p| p.id);
        prop_assert_eq!(id(chain.proof_at(table, wild)), id(chain.proof(table, &star)), "{:?}", node.name());
        if chain.is_nsec3() {
            let matching = node.denial_proof(1).expect("an NSEC3 zone's node has its own");
            prop_assert_eq!(id(chain.proof_at(table, matching)), id(chain.proof(table, node.name())));
        }
    }
    Ok(())
}

fn label() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "c", "x-1", "zz"])
}

/// A relative name of one to three labels, a wildcard one time in four.
fn owner() -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..=3), any::<u8>()).prop_map(|(labels, w)| {
        let name = labels.join(".");
        if w % 4 == 0 {
            format!("*.{name}")
        } else {
            name
        }
    })
}

fn query_name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "x-1", "Zz", "nx", "*", "ns1", "del"]), 0..=4)
        .prop_map(|labels| labels.iter().map(|l| format!("{l}.")).collect::<String>() + "example.com.")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn precompiled_proofs_are_the_searched_ones(
        owners in prop::collection::btree_set(owner(), 1..12),
        nsec3 in any::<bool>(),
        queries in prop::collection::vec(
            (query_name(), prop::sample::select(vec![RecordType::A, RecordType::TXT, RecordType::NS])),
            1..24,
        ),
    ) {
        let zone = crate::zone::parse_str(&signed_zone(&owners, nsec3), "signed.zone", None).expect("zone");
        let table = Table::compile(&[zone]).expect("compiles");
        prop_assert_eq!(table.denial_chain(0).map(|c| c.is_nsec3()), Some(nsec3));
        check_nodes(&table)?;
        let precompiled = Engine::new(table, Options::default());
        let searched = Engine::new(without_precompiled_proofs(precompiled.table()), Options::default());
        for (name, qtype) in &queries {
            let q = query_bytes(name, *qtype, Some((4096, true)));
            let answer = |e: &Engine| {
                let mut buf = vec![0u8; 65535];
                buf[..q.len()].copy_from_slice(&q);
                let n = answer_message(e, &mut buf, q.len(), Transport::Udp).expect("an answer");
                buf.truncate(n);
                buf
            };
            prop_assert_eq!(answer(&precompiled), answer(&searched), "{} {:?}", name, qtype);
        }
        // The same queries as one batch, prefetched (the NSEC3 hashes taken
        // ahead): the same answers.
        let asked: Vec<Vec<u8>> =
            queries.iter().map(|(name, qtype)| query_bytes(name, *qtype, Some((4096, true)))).collect();
        for (batched, alone) in answer_batch(&precompiled, &asked).iter().zip(&asked) {
            prop_assert_eq!(batched, &answer_alone(&precompiled, alone));
        }
    }
}

fn answer_alone(e: &Engine, q: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(q);
    let n = answer_message(e, &mut buf, q.len(), Transport::Udp).expect("an answer");
    buf.truncate(n);
    buf
}

/// `queries` prefetched as one batch, then answered with the scratch the
/// prefetch filled.
fn answer_batch(e: &Engine, queries: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut scratch = Scratch::default();
    let mut prefetch = Prefetch::new();
    for q in queries {
        prefetch.message(e, q);
    }
    prefetch.finish(e, &mut scratch);
    answer_with(e, &mut scratch, queries)
}

fn answer_with(e: &Engine, scratch: &mut Scratch, queries: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut policy = policy::SendAll;
    queries
        .iter()
        .map(|q| {
            let mut buf = vec![0u8; 65535];
            buf[..q.len()].copy_from_slice(q);
            let n = answer_message_with(e, scratch, &mut buf, q.len(), Transport::Udp, &[], &mut policy).unwrap();
            buf.truncate(n);
            buf
        })
        .collect()
}

#[test]
fn the_prefetcher_hashes_the_next_closer_names_of_do_queries_the_table_lacks() {
    let owners = BTreeSet::from(["a".to_string(), "*.w".to_string(), "b.c".to_string()]);
    let zone = crate::zone::parse_str(&signed_zone(&owners, true), "signed.zone", None).expect("zone");
    let engine = Engine::new(Table::compile(&[zone]).expect("compiles"), Options::default());
    let queries = [
        ("NX1.example.com.", Some((4096, true))),
        ("a.example.com.", Some((4096, true))),    // present
        ("nx2.example.com.", Some((4096, false))), // DO=0
        ("nx3.example.com.", None),
        ("x.Y.w.example.com.", Some((4096, true))), // a wildcard's answer: next closer y.w
        ("z.del.example.com.", Some((4096, true))), // a referral
        ("q.b.c.example.com.", Some((4096, true))), // next closer q.b.c
    ];
    let asked: Vec<Vec<u8>> = queries.iter().map(|(n, edns)| query_bytes(n, RecordType::A, *edns)).collect();
    let mut scratch = Scratch::default();
    let mut prefetch = Prefetch::new();
    for q in &asked {
        prefetch.message(&engine, q);
    }
    prefetch.finish(&engine, &mut scratch);
    let prehashed = &scratch.query.prehashed;
    for (name, taken) in [
        ("nx1.example.com.", true),
        ("nx2.example.com.", false),
        ("nx3.example.com.", false),
        ("y.w.example.com.", true),
        ("z.del.example.com.", false),
        ("q.b.c.example.com.", true),
    ] {
        let w = wire(name);
        let want = taken.then(|| nsec3_hash(&w, &SALT, 0));
        let to = Searched { table: engine.table().id(), zone: 0 };
        let found = prehashed.find(&w, &SALT, 0, to);
        assert_eq!(found.map(|h| h.hash), want, "{name}");
        if let Some(found) = found {
            // The prefetcher noted the entry the answer's search would find,
            // and where it searched: the answer takes it without a search.
            assert!(found.searched, "{name}");
            let chain = engine.table().denial_chain(0).unwrap();
            let entry = found.entry;
            assert_ne!(entry, u32::MAX, "{name}");
            let hash = nsec3_hash(&w, &SALT, 0);
            assert_eq!(
                chain.proof_at(engine.table(), entry).map(|p| p.id),
                chain.proof_of_hash(engine.table(), &hash).map(|p| p.id)
            );
        }
    }
    // Taken from the batch, the answers are those of the queries alone.
    let mut scratch = Scratch::default();
    for q in &asked {
        prefetch.message(&engine, q);
    }
    prefetch.finish(&engine, &mut scratch);
    let alone: Vec<Vec<u8>> = asked.iter().map(|q| answer_alone(&engine, q)).collect();
    assert_eq!(answer_with(&engine, &mut scratch, &asked), alone);
}

#[test]
fn a_kept_closest_encloser_gives_the_walks_own_answer() {
    // The prefetcher keeps the closest encloser it found one label above a
    // name and takes it for the next name with that parent: in any order,
    // each answer must be what a walk from nothing finds.
    let owners = BTreeSet::from(["a".to_string(), "*.w".to_string(), "b.c".to_string()]);
    let zone = crate::zone::parse_str(&signed_zone(&owners, true), "signed.zone", None).expect("zone");
    let table = Table::compile(&[zone]).expect("compiles");
    let names = [
        "nx1.example.com.",
        "nx2.example.com.",
        "q.b.c.example.com.",
        "r.b.c.example.com.",
        "s.c.example.com.",
        "t.q.b.c.example.com.",
        "x.y.w.example.com.",
        "z.w.example.com.",
        "z.del.example.com.",
        "y.z.del.example.com.",
        "nx3.example.com.",
        "example.com.",
        "com.",
        "a.other.org.",
        "u.b.c.example.com.",
    ];
    let found = |n: Option<crate::table::NextCloser<'_, '_>>| n.map(|n| (n.zone, n.name.to_vec(), n.salt.to_vec()));
    let mut chains = crate::table::denial::LastChain::default();
    let mut last = crate::table::LastEncloser::default();
    let mut kept = 0;
    for name in names.iter().chain(names.iter().rev()).chain(names.iter().step_by(2)) {
        let w = wire(name);
        let fresh = found(table.nsec3_next_closer(&w, &mut Default::default(), &mut Default::default()));
        let with_last = found(table.nsec3_next_closer(&w, &mut chains, &mut last));
        assert_eq!(with_last, fresh, "{name}");
        kept += usize::from(with_last.is_some_and(|(_, next, _)| next == w));
    }
    assert!(kept > 10, "the names one label below their closest encloser: {kept}");
}

#[test]
fn an_nxdomain_takes_its_next_closer_hash_from_the_prefetch() {
    let owners = BTreeSet::from(["a".to_string(), "m".to_string(), "z".to_string()]);
    let zone = crate::zone::parse_str(&signed_zone(&owners, true), "signed.zone", None).expect("zone");
    let engine = Engine::new(Table::compile(&[zone]).expect("compiles"), Options::default());
    let q = query_bytes("nx.example.com.", RecordType::A, Some((4096, true)));
    let alone = answer_alone(&engine, &q);
    // Every hash the chain could cover: some other entry's proof answers.
    let mut proofs = BTreeSet::new();
    for first in 0..=255u8 {
        let mut scratch = Scratch::default();
        scratch.query.prehashed.add(&wire("nx.example.com."), &SALT, 0, [first; 20]);
        let answer = answer_with(&engine, &mut scratch, std::slice::from_ref(&q)).remove(0);
        proofs.insert(answer);
    }
    assert!(proofs.len() > 1, "the answer did not use the hash it was handed");
    let mut scratch = Scratch::default();
    scratch.query.prehashed.add(&wire("nx.example.com."), &SALT, 0, nsec3_hash(&wire("nx.example.com."), &SALT, 0));
    assert_eq!(answer_with(&engine, &mut scratch, std::slice::from_ref(&q)), vec![alone.clone()]);
    // Any chain entry handed as the one found (a table reloaded between
    // the prefetch and the answer): the answer is still the right one.
    let len = engine.table().denial_chain(0).unwrap().len() as u32;
    for entry in (0..len + 2).chain([u32::MAX]) {
        let mut scratch = Scratch::default();
        let hash = nsec3_hash(&wire("nx.example.com."), &SALT, 0);
        let kept = scratch.query.prehashed.add(&wire("nx.example.com."), &SALT, 0, hash).unwrap();
        scratch.query.prehashed.found(kept, entry, 0);
        assert_eq!(answer_with(&engine, &mut scratch, std::slice::from_ref(&q)), vec![alone.clone()], "hint {entry}");
    }
}

#[test]
fn a_precompiled_proof_past_the_chain_is_refused_at_load() {
    let owners = BTreeSet::from(["a".to_string(), "*.b".to_string()]);
    let zone = crate::zone::parse_str(&signed_zone(&owners, true), "signed.zone", None).expect("zone");
    let table = Table::compile(&[zone]).expect("compiles");
    let len = table.denial_chain(0).unwrap().len() as u32;
    let apex = table.find(&wire("example.com.")).unwrap();
    let fields: Vec<u8> =
        [apex.denial_proof(0).unwrap(), apex.denial_proof(1).unwrap()].iter().flat_map(|i| i.to_le_bytes()).collect();
    for (which, at) in [("wildcard", 0), ("encloser", 4)] {
        let mut bytes = table.as_bytes().to_vec();
        let node = apex.offset();
        let found = bytes[node..].windows(8).position(|w| w == fields.as_slice()).expect("the fields") + node;
        bytes[found + at..found + at + 4].copy_from_slice(&len.to_le_bytes());
        crate::table::seal(&mut bytes);
        let e = Table::from_bytes(bytes).err().expect("refused").to_string();
        assert!(e.contains("closest encloser proof past its chain"), "{which}: {e}");
    }
}

#[test]
fn an_nsec3_index_out_of_order_is_refused_at_load() {
    let owners = BTreeSet::from(["a".to_string(), "b.c".to_string(), "*.d".to_string()]);
    let zone = crate::zone::parse_str(&signed_zone(&owners, true), "signed.zone", None).expect("zone");
    let table = Table::compile(&[zone]).expect("compiles");
    // Kind, iterations, salt length, the 2-byte salt, count, index bits.
    let index = table.zone(0).unwrap().nsec_chain as usize + 1 + 2 + 1 + SALT.len() + 4 + 1;
    assert_eq!(table.as_bytes()[index..index + 4], [0, 0, 0, 0], "the first slot starts at the first entry");
    let mut bytes = table.as_bytes().to_vec();
    bytes[index] = 1;
    crate::table::seal(&mut bytes);
    let e = Table::from_bytes(bytes).err().expect("refused").to_string();
    assert!(e.contains("NSEC3 chain index out of order"), "{e}");
}

#[test]
fn a_hinted_nsec3_proof_is_the_searched_one_whatever_the_hint() {
    let owners = BTreeSet::from(["a".to_string(), "b.c".to_string(), "m".to_string(), "z".to_string()]);
    let zone = crate::zone::parse_str(&signed_zone(&owners, true), "signed.zone", None).expect("zone");
    let table = Table::compile(&[zone]).expect("compiles");
    let chain = table.denial_chain(0).unwrap();
    let len = chain.len() as u32;
    // Hashes before, between, on and after the chain's own.
    let mut hashes: Vec<[u8; 20]> = (0..=255u8).map(|b| [b; 20]).collect();
    for n in ["example.com.", "a.example.com.", "c.example.com.", "m.example.com.", "z.example.com."] {
        hashes.push(nsec3_hash(&wire(n), &SALT, 0));
    }
    let key = |p: Option<crate::table::denial::Proof<'_>>| p.map(|p| (p.id, p.exact));
    for hash in &hashes {
        let searched = key(chain.proof_of_hash(&table, hash));
        assert!(searched.is_some());
        for hint in (0..len + 2).chain([u32::MAX]) {
            assert_eq!(key(chain.proof_of_hash_hinted(&table, hash, hint)), searched, "{hash:?} hint {hint}");
        }
    }
    assert!(hashes.iter().any(|h| key(chain.proof_of_hash(&table, h)).unwrap().1), "no hash matched an entry");
}
