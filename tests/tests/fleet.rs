//! One node of a fleet (issue 13), on a veth testbed with a real primary:
//! knotd as the hidden primary in node 0, and two responders as its
//! secondaries, node 1 with the AF_XDP data plane on its link and node 2 on
//! kernel sockets only, each in its own namespace, all joined through a hub
//! namespace that routes between them and from which the tests query as a
//! client would (`testkit::fleet`). Every SOA query, transfer and NOTIFY is
//! signed with TSIG (hmac-sha256).
//!
//! - a change committed on the primary reaches both secondaries by NOTIFY
//!   and IXFR within 2 s, and is answered through XDP;
//! - a secondary with the wrong key is refused and says so, and keeps
//!   serving its copy;
//! - the primary stopped: the secondaries serve until EXPIRE, then answer
//!   SERVFAIL with `/readyz` failing; the primary back, they recover;
//! - a secondary restarted while the primary is down serves its copy;
//! - a paced load through XDP during 20 transfers loses no more queries
//!   than the same load without them;
//! - catalog zones: knotd in node 0 serves a catalog and its members, the
//!   XDP node consumes it (TSIG on every transfer) and answers the members
//!   through XDP; a member added on knotd is served, a member removed is
//!   REFUSED within 5 s while another, asked in a loop through XDP, never
//!   misses;
//! - responder in the middle of a tree: the XDP node, a secondary of knotd
//!   in node 0, is the primary of a knotd in node 2 (its `acl` and
//!   `notify`): a change on node 0 reaches node 1 by IXFR, and node 1's
//!   NOTIFY makes node 2 pull it by IXFR; kdig's signed AXFR from the hub
//!   validates.
//!
//! Each test builds its own fleet (so each stands alone), the first five
//! through [`Topology`], the last two from the same knotd/responder
//! configuration pieces on their own nodes. The tests take turns (a lock):
//! each runs up to three servers, and the load test counts losses that a
//! neighbour's CPU use would distort.
//!
//! Needs root, knotd and knotc (and kdig for the last test): skipped with a
//! message otherwise, except under `CI=true`. Every wait is bounded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use responder_tests::daemon::run_bounded;
use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Question};
use responder_tests::fleet::knot_node::{KnotAcl, KnotConfig, KnotKey, KnotNode, KnotRemote, KnotZone};
use responder_tests::fleet::responder_node::{metric_sum, Remote, ResponderConfig, ResponderNode, Zone};
use responder_tests::fleet::{ask_in, roomy_udp_socket, wait_for, Fleet, Node};
use responder_tests::netns::in_netns;
use responder_tests::paced::{self, Pace, Tally};
use responder_tests::testbed::{privileged, required_tools, Testbed};
use responder_tests::{kdig, knot};

const ZONE: &str = "example.test.";
const KEY: &str = "xfr";
const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eA==";
const WRONG_SECRET: &str = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI=";
const SERVFAIL: u16 = 2;

/// One fleet at a time in this file.
static TURN: Mutex<()> = Mutex::new(());

fn can_run(test: &str) -> bool {
    privileged(test) && required_tools(test, if knot::available() { &[] } else { &["knotd", "knotc"] })
}

fn zone_text(serial: u32, refresh: u32, retry: u32, expire: u32) -> String {
    format!(
        "$ORIGIN {ZONE}\n$TTL 60\n@ SOA ns hostmaster {serial} {refresh} {retry} {expire} 60\n@ NS ns\n\
         ns A 198.19.0.1\nwww A 198.18.0.80\nmail MX 10 www\n"
    )
}

/// A zone that is only refreshed on NOTIFY within a test's lifetime.
fn quiet_zone() -> String {
    zone_text(1, 3600, 600, 86400)
}

/// The hidden primary and its two secondaries, after the first transfer.
/// Fields drop in order: the servers stop before their namespaces go.
struct Topology {
    primary: KnotNode,
    /// Node 1: XDP on its link.
    xdp: ResponderNode,
    /// Node 2: kernel sockets only.
    kernel: ResponderNode,
    fleet: Fleet,
    _dir: tempfile::TempDir,
}

impl Topology {
    fn start(tag: &str, zone: &str) -> Topology {
        let fleet = Fleet::create(tag, &[1, 1, 1]).expect("fleet");
        let dir = tempfile::tempdir().unwrap();
        let (n0, n1, n2) = (fleet.node(0), fleet.node(1), fleet.node(2));
        let knot = KnotConfig {
            keys: vec![KnotKey { id: KEY.into(), secret: SECRET.into() }],
            remotes: [("sec1", n1), ("sec2", n2)]
                .iter()
                .map(|(id, n)| KnotRemote {
                    id: id.to_string(),
                    address: SocketAddr::from((n.v4, 53)),
                    key: Some(KEY.into()),
                })
                .collect(),
            acls: vec![KnotAcl {
                id: "nodes".into(),
                address: vec![n1.v4.to_string(), n1.v6.to_string(), n2.v4.to_string(), n2.v6.to_string()],
                key: Some(KEY.into()),
                action: "transfer".into(),
            }],
            zones: vec![KnotZone::primary(ZONE, zone, &["sec1", "sec2"], &["nodes"])],
        };
        let primary = KnotNode::start(n0, &fleet.hub_ns, &dir.path().join("primary"), &knot);
        let xdp =
            ResponderNode::start(n1, &fleet.hub_ns, &dir.path().join("xdp"), &secondary_config(&fleet, true, SECRET));
        let kernel = ResponderNode::start(
            n2,
            &fleet.hub_ns,
            &dir.path().join("kernel"),
            &secondary_config(&fleet, false, SECRET),
        );
        let topology = Topology { primary, xdp, kernel, fleet, _dir: dir };
        for node in topology.secondaries() {
            wait_for("the first AXFR", Duration::from_secs(15), || node.answer("www.example.test.", A).is_some());
            assert_eq!(node.zone_status(ZONE)["last_transfer"], "AXFR");
        }
        topology
    }

    fn secondaries(&self) -> [&ResponderNode; 2] {
        [&self.xdp, &self.kernel]
    }

    /// Answers to queries served by the XDP workers so far.
    fn xdp_answers(&self) -> u64 {
        metric_sum(&self.xdp.metrics(), "responder_responses_total", &[("path", "xdp")])
    }

    /// [`Topology::xdp_answers`] once it has reached `count` (a worker
    /// publishes its counters when its queue runs dry: a moment after it
    /// answered), or after 2 s.
    fn xdp_answers_reaching(&self, count: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let now = self.xdp_answers();
            if now >= count || Instant::now() >= deadline {
                return now;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn kernel_udp_answers(&self, node: &ResponderNode) -> u64 {
        metric_sum(&node.metrics(), "responder_responses_total", &[("path", "kernel"), ("protocol", "udp")])
    }
}

/// A secondary of node 0 signing with `secret` under the key's id.
fn secondary_config(fleet: &Fleet, xdp: bool, secret: &str) -> ResponderConfig {
    ResponderConfig {
        xdp,
        keys: vec![(KEY.into(), secret.into())],
        remotes: vec![Remote {
            id: "primary".into(),
            address: SocketAddr::from((fleet.node(0).v4, 53)),
            key: Some(KEY.into()),
        }],
        zones: vec![Zone::secondary(ZONE, &["primary"])],
        extra: String::new(),
    }
}

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn a_change_on_the_primary_reaches_both_secondaries_by_notify_and_ixfr_and_is_answered_through_xdp() {
    let test = "a_change_on_the_primary_reaches_both_secondaries_by_notify_and_ixfr_and_is_answered_through_xdp";
    if !can_run(test) {
        return;
    }
    let _turn = turn();
    let t = Topology::start("fixfr", &quiet_zone());

    t.primary.commit(ZONE, &["new 60 A 198.18.0.81"]);
    let took = wait_for("the change on both secondaries", Duration::from_secs(5), || {
        t.secondaries().iter().all(|n| n.answer("new.example.test.", A).is_some())
    });
    assert!(took < Duration::from_secs(2), "the change took {took:?} to reach both secondaries");
    eprintln!("{test}: the change reached both secondaries in {took:?}");
    for node in t.secondaries() {
        // The status follows the swap by a moment.
        wait_for("the IXFR in zone-status", Duration::from_secs(2), || node.serial(ZONE) == Some(2));
        let status = node.zone_status(ZONE);
        assert_eq!(status["last_transfer"], "IXFR", "{}: {status}", node.node.ns);
        let log = node.log();
        assert!(log.contains("NOTIFY from 198.19.0.1"), "{log}");
        assert!(log.contains("IXFR from primary (198.19.0.1:53)"), "{log}");
        assert_eq!(node.answer("www.example.test.", A).as_deref(), Some("www.example.test. 60 A 198.18.0.80"));
    }
    // knotd served both an IXFR, signed (its ACL wants the key).
    let knot_log = t.primary.log();
    for n in [1, 2] {
        let served = format!("IXFR, outgoing, remote 198.19.{n}.1@");
        assert!(knot_log.contains(&served), "no IXFR to node {n} in knotd's log:\n{knot_log}");
    }

    // The new record through XDP, over IPv4 and IPv6: the XDP workers'
    // answer counter moves by every query, the kernel path's by none.
    let (xdp_before, kernel_before) = (t.xdp_answers(), t.kernel_udp_answers(&t.xdp));
    let v6 = SocketAddr::from((t.xdp.node.v6, 53));
    for _ in 0..10 {
        assert_eq!(t.xdp.answer("new.example.test.", A).as_deref(), Some("new.example.test. 60 A 198.18.0.81"));
        let reply = ask_in(&t.fleet.hub_ns, v6, "new.example.test.", A).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.answer_text(), ["new.example.test. 60 A 198.18.0.81"], "over IPv6");
    }
    let xdp_after = t.xdp_answers_reaching(xdp_before + 20);
    let kernel_after = t.kernel_udp_answers(&t.xdp);
    assert_eq!(xdp_after - xdp_before, 20, "answers counted on the XDP path");
    assert_eq!(kernel_after, kernel_before, "no UDP answer from the kernel path");
}

#[test]
fn a_secondary_with_the_wrong_tsig_key_is_refused_and_logs_it_while_serving_its_copy() {
    let test = "a_secondary_with_the_wrong_tsig_key_is_refused_and_logs_it_while_serving_its_copy";
    if !can_run(test) {
        return;
    }
    let _turn = turn();
    let mut t = Topology::start("fbadkey", &quiet_zone());

    // Node 2 comes back with another secret under the same key id.
    t.kernel.stop();
    t.kernel.configure(&secondary_config(&t.fleet, false, WRONG_SECRET));
    t.kernel.run();
    wait_for("the refusal to be logged", Duration::from_secs(5), || {
        t.kernel.log().contains("TSIG error BADSIG (the primary answered NOTAUTH)")
    });
    let status = t.kernel.zone_status(ZONE);
    assert!(status["last_error"].as_str().is_some_and(|e| e.contains("TSIG")), "{status}");
    // A full transfer asked for by hand: refused by knotd as well (Knot
    // 3.2 logs a bad signature only at debug level: it must not have
    // started a second AXFR to node 2).
    assert_eq!(t.kernel.ctl("zone-retransfer example.test")["ok"], true);
    wait_for("the refused AXFR to be logged", Duration::from_secs(5), || {
        t.kernel.log().contains("AXFR: TSIG the peer rejected our signature: TSIG error BADSIG")
    });
    let started = t
        .primary
        .log()
        .lines()
        .filter(|l| l.contains("AXFR, outgoing, remote 198.19.2.1@") && l.contains("started"))
        .count();
    assert_eq!(started, 1, "knotd served node 2 again with the wrong key:\n{}", t.primary.log());

    // A change: node 1 takes it; node 2 refuses the primary's NOTIFY (signed
    // with the right key, which it no longer has) and keeps its copy.
    t.primary.commit(ZONE, &["new 60 A 198.18.0.81"]);
    wait_for("the change on node 1", Duration::from_secs(5), || t.xdp.answer("new.example.test.", A).is_some());
    wait_for("node 2 to refuse the NOTIFY", Duration::from_secs(5), || t.kernel.log().contains("NOTIFY refused"));
    assert_eq!(t.kernel.serial(ZONE), Some(1));
    assert_eq!(t.kernel.answer("www.example.test.", A).as_deref(), Some("www.example.test. 60 A 198.18.0.80"));
    assert_eq!(t.kernel.ask("new.example.test.", A).rcode, 3, "NXDOMAIN: the change did not get in");
    let (code, body) = t.kernel.readyz();
    assert_eq!(code, 200, "a refused refresh does not make the node unready before EXPIRE: {body}");

    // The right key again: node 2 catches up by IXFR from the copy it kept.
    t.kernel.stop();
    t.kernel.configure(&secondary_config(&t.fleet, false, SECRET));
    t.kernel.run();
    wait_for("node 2 to catch up", Duration::from_secs(5), || t.kernel.serial(ZONE) == Some(2));
    assert_eq!(t.kernel.zone_status(ZONE)["last_transfer"], "IXFR");
    assert!(t.kernel.answer("new.example.test.", A).is_some());
}

#[test]
fn a_stopped_primary_expires_both_secondaries_to_servfail_and_unready_and_its_return_recovers_them() {
    let test = "a_stopped_primary_expires_both_secondaries_to_servfail_and_unready_and_its_return_recovers_them";
    if !can_run(test) {
        return;
    }
    let _turn = turn();
    // REFRESH 1, RETRY 1, EXPIRE 4: the whole cycle in seconds.
    let mut t = Topology::start("fexpire", &zone_text(7, 1, 1, 4));
    for node in t.secondaries() {
        assert_eq!(node.readyz().0, 200, "{}", node.readyz().1);
    }

    let pid = t.primary.pid().expect("knotd runs");
    t.primary.stop();
    let stopped = Instant::now();
    eprintln!("{test}: knotd (PID {pid}) stopped");
    thread::sleep(Duration::from_millis(1500));
    for node in t.secondaries() {
        assert!(node.answer("www.example.test.", A).is_some(), "served while the primary is away");
    }
    for node in t.secondaries() {
        wait_for("expiry", Duration::from_secs(8), || node.ask("www.example.test.", A).rcode == SERVFAIL);
        assert!(stopped.elapsed() >= Duration::from_secs(3), "expired after {:?}, before EXPIRE", stopped.elapsed());
        assert_eq!(node.ask(ZONE, SOA).rcode, SERVFAIL);
        let (code, body) = node.readyz();
        assert_eq!(code, 503, "{}: {body}", node.node.ns);
        assert!(body.contains("secondary zone example.test. is past its SOA expire"), "{body}");
        assert!(node.metrics().contains("responder_zone_expired{zone=\"example.test.\"} 1"));
    }

    let zones = [ZONE.to_string()];
    let hub = t.fleet.hub_ns.clone();
    t.primary.run(&hub, &zones);
    for node in t.secondaries() {
        wait_for("recovery", Duration::from_secs(8), || node.answer("www.example.test.", A).is_some());
        wait_for("/readyz to pass again", Duration::from_secs(5), || node.readyz().0 == 200);
        assert_eq!(node.zone_status(ZONE)["expired"], false);
    }
}

#[test]
fn a_secondary_restarted_while_the_primary_is_down_serves_its_persisted_copy_through_xdp() {
    let test = "a_secondary_restarted_while_the_primary_is_down_serves_its_persisted_copy_through_xdp";
    if !can_run(test) {
        return;
    }
    let _turn = turn();
    let mut t = Topology::start("fpersist", &quiet_zone());
    t.primary.commit(ZONE, &["new 60 A 198.18.0.81"]);
    wait_for("the change on node 1", Duration::from_secs(5), || t.xdp.serial(ZONE) == Some(2));

    t.primary.stop();
    t.xdp.stop();
    t.xdp.run();
    let xdp_before = t.xdp_answers();
    assert_eq!(t.xdp.answer("new.example.test.", A).as_deref(), Some("new.example.test. 60 A 198.18.0.81"));
    assert_eq!(t.xdp_answers_reaching(xdp_before + 1) - xdp_before, 1, "answered by the XDP workers");
    assert_eq!(t.xdp.serial(ZONE), Some(2));
    let (code, body) = t.xdp.readyz();
    assert_eq!(code, 200, "a copy within EXPIRE is ready: {body}");
    wait_for("the failed refresh to be logged", Duration::from_secs(10), || {
        t.xdp.log().contains("refresh failed, still serving serial 2")
    });
}

/// The paced load on node 1: 2,000 queries a second from one hub socket
/// for 23 s, every reply read. A secondary checks its primary at most once
/// a second (a NOTIFY burst is one check), so 20 transfers take 20 s; the
/// rest is margin.
const LOAD: Pace = Pace { per_second: 2_000, count: 46_000 };
const TRANSFERS: u32 = 20;

#[test]
fn twenty_transfers_under_a_paced_xdp_load_lose_no_more_queries_than_the_same_load_without_them() {
    let test = "twenty_transfers_under_a_paced_xdp_load_lose_no_more_queries_than_the_same_load_without_them";
    if !can_run(test) {
        return;
    }
    let _turn = turn();
    let t = Topology::start("fload", &quiet_zone());
    let query = Question::new("www.example.test.", A).to_wire().unwrap();
    let server = SocketAddr::from((t.xdp.node.v4, 53));
    let hub_v4 = t.xdp.node.hub_v4;
    let socket = || roomy_udp_socket(&t.fleet.hub_ns, SocketAddr::from((hub_v4, 0))).unwrap_or_else(|e| panic!("{e}"));

    // Without transfers: what this host loses anyway.
    let xdp_before = t.xdp_answers();
    let quiet = paced::run(socket(), server, &query, LOAD).unwrap();
    let quiet_xdp = t.xdp_answers_reaching(xdp_before + u64::from(quiet.full)) - xdp_before;

    // The same load with 20 changes committed on the primary, one after the
    // other has reached node 1.
    let xdp_before = t.xdp_answers();
    let (busy, last_swap) = thread::scope(|scope| {
        let started = Instant::now();
        let run = scope.spawn(|| paced::run(socket(), server, &query, LOAD).unwrap());
        for i in 0..TRANSFERS {
            t.primary.commit(ZONE, &[&format!("n{i} 60 A 198.18.1.{i}")]);
            let serial = u64::from(i) + 2;
            wait_for("the transfer", Duration::from_secs(5), || t.xdp.serial(ZONE) == Some(serial));
        }
        let last_swap = started.elapsed();
        (run.join().expect("load thread"), last_swap)
    });
    let busy_xdp = t.xdp_answers_reaching(xdp_before + u64::from(busy.full)) - xdp_before;

    let lost = |tally: &Tally| tally.sent - tally.full;
    eprintln!(
        "{test}: without transfers: sent {}, answered {} ({} by XDP), lost {}; with {TRANSFERS} transfers \
         (the last swapped in at {last_swap:?} of {:?}): sent {}, answered {} ({} by XDP), lost {}",
        quiet.sent,
        quiet.full,
        quiet_xdp,
        lost(&quiet),
        busy.send_time,
        busy.sent,
        busy.full,
        busy_xdp,
        lost(&busy)
    );
    assert!(last_swap < busy.send_time, "the transfers outlasted the load: nothing was measured");
    let log = t.xdp.log();
    assert_eq!(log.matches("IXFR from primary").count(), TRANSFERS as usize, "one IXFR per change:\n{log}");
    // Tolerance: the losses of the quiet run again (the host's own noise
    // can strike twice), nothing for the transfers themselves.
    assert!(lost(&busy) <= 2 * lost(&quiet), "{} queries lost during transfers, {} without", lost(&busy), lost(&quiet));
    assert_eq!(busy.other, 0, "no SERVFAIL, REFUSED or stray reply while swapping");
    // Answered by the XDP workers, not by the kernel sockets' fallback.
    assert!(busy_xdp >= u64::from(busy.full), "{busy_xdp} XDP answers for {} answered queries", busy.full);
    assert!(quiet_xdp >= u64::from(quiet.full));
}

const CATALOG: &str = "catalog.test.";
const MEMBERS: [&str; 3] = ["m1.test.", "m2.test.", "m3.test."];
const NOERROR: u16 = 0;
const REFUSED: u16 = 5;

fn member_text(zone: &str) -> String {
    format!("$ORIGIN {zone}\n$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\nwww A 198.18.0.80\n")
}

/// The catalog as knotd serves it: a plain zone to it (`catalog-role` none),
/// listing `members`, one `idN.zones` PTR each.
fn catalog_text(members: &[&str]) -> String {
    let mut text = format!(
        "$ORIGIN {CATALOG}\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 86400 0\n@ NS invalid.\nversion TXT \"2\"\n"
    );
    for (i, m) in members.iter().enumerate() {
        text.push_str(&format!("id{i}.zones PTR {m}\n"));
    }
    text
}

/// Whether `www.ZONE` gets its one A record from `node`.
fn serves(node: &ResponderNode, zone: &str) -> bool {
    let reply = node.ask(&format!("www.{zone}"), A);
    reply.rcode == NOERROR && reply.answer.len() == 1
}

#[test]
fn a_catalog_on_knotd_brings_and_takes_members_on_an_xdp_node_with_no_miss_on_the_others() {
    let test = "a_catalog_on_knotd_brings_and_takes_members_on_an_xdp_node_with_no_miss_on_the_others";
    if !can_run(test) {
        return;
    }
    let _turn = turn();
    let fleet = Fleet::create("fcat", &[1, 1]).expect("fleet");
    let dir = tempfile::tempdir().unwrap();
    let (n0, n1) = (fleet.node(0), fleet.node(1));
    let [m1, m2, m3] = MEMBERS;

    // knotd serves the catalog (listing m1 and m2) and all three members,
    // and signs the catalog's NOTIFY to node 1.
    let mut zones = vec![KnotZone::primary(CATALOG, &catalog_text(&[m1, m2]), &["consumer"], &["nodes"])];
    zones.extend(MEMBERS.iter().map(|m| KnotZone::primary(m, &member_text(m), &[], &["nodes"])));
    let knot = KnotConfig {
        keys: vec![KnotKey { id: KEY.into(), secret: SECRET.into() }],
        remotes: vec![KnotRemote {
            id: "consumer".into(),
            address: SocketAddr::from((n1.v4, 53)),
            key: Some(KEY.into()),
        }],
        acls: vec![KnotAcl {
            id: "nodes".into(),
            address: vec![n1.v4.to_string(), n1.v6.to_string()],
            key: Some(KEY.into()),
            action: "transfer".into(),
        }],
        zones,
    };
    let primary = KnotNode::start(n0, &fleet.hub_ns, &dir.path().join("primary"), &knot);
    // Node 1 consumes the catalog; the members' copies go below `members/`.
    let mut config = secondary_config(&fleet, true, SECRET);
    config.zones = vec![Zone::secondary(CATALOG, &["primary"])
        .with("catalog-role = \"interpret\"")
        .with("catalog-template = [\"members\"]")];
    config.extra = "[[template]]\nid = \"members\"\nstorage = \"members\"\n".into();
    let consumer = ResponderNode::start(n1, &fleet.hub_ns, &dir.path().join("consumer"), &config);
    let xdp_answers = || metric_sum(&consumer.metrics(), "responder_responses_total", &[("path", "xdp")]);

    wait_for("both listed members", Duration::from_secs(15), || serves(&consumer, m1) && serves(&consumer, m2));
    assert_eq!(consumer.ask(m3, SOA).rcode, REFUSED, "not listed yet");
    assert_eq!(consumer.zone_status(m1)["catalog"], CATALOG);
    // Both members answered by the XDP workers.
    let before = xdp_answers();
    for _ in 0..5 {
        assert!(serves(&consumer, m1) && serves(&consumer, m2));
    }
    wait_for("10 answers counted on the XDP path", Duration::from_secs(2), || xdp_answers() >= before + 10);

    // Added on knotd: NOTIFY and IXFR of the catalog, then the member's AXFR.
    primary.commit(CATALOG, &["id2.zones 0 PTR m3.test."]);
    let took = wait_for("the added member", Duration::from_secs(10), || serves(&consumer, m3));
    eprintln!("{test}: the added member was served after {took:?}");

    // Removed on knotd: REFUSED within 5 s, m1 asked through XDP throughout.
    let stop = AtomicBool::new(false);
    let server = SocketAddr::from((n1.v4, 53));
    let xdp_before = xdp_answers();
    let (asked, misses, took) = thread::scope(|scope| {
        let asker = scope.spawn(|| {
            in_netns(&fleet.hub_ns, || {
                dns::ask_until_stopped(server, &Question::new("www.m1.test.", A), &stop, Duration::from_secs(20))
            })
            .unwrap_or_else(|e| panic!("{e}"))
        });
        thread::sleep(Duration::from_millis(200));
        primary.knotc(&["zone-begin".into(), CATALOG.into()]);
        primary.knotc(&["zone-unset".into(), CATALOG.into(), "id1.zones".into(), "PTR".into(), m2.into()]);
        primary.knotc(&["zone-commit".into(), CATALOG.into()]);
        let took =
            wait_for("the removed member refused", Duration::from_secs(5), || consumer.ask(m2, SOA).rcode == REFUSED);
        thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        let (asked, misses) = asker.join().expect("asker");
        (asked, misses, took)
    });
    eprintln!("{test}: the removed member was refused after {took:?}; {asked} queries for m1 meanwhile");
    assert!(asked > 10, "only {asked} queries");
    assert!(
        misses.is_empty(),
        "{} of {asked} queries for m1 missed: {:?}",
        misses.len(),
        &misses[..misses.len().min(5)]
    );
    let xdp_after = xdp_answers();
    assert!(xdp_after - xdp_before >= asked, "{} XDP answers for {asked} queries", xdp_after - xdp_before);
    assert!(serves(&consumer, m3));
    let log = consumer.log();
    assert!(log.contains("catalog catalog.test.: member m3.test. added"), "{log}");
}

/// The SOA serial `server` answers from the hub, if any.
fn soa_serial(fleet: &Fleet, server: SocketAddr) -> Option<u64> {
    let reply = ask_in(&fleet.hub_ns, server, ZONE, SOA).ok()?;
    // `example.test. 60 SOA ns.example.test. hostmaster.example.test. SERIAL ...`
    reply.answer.first()?.to_string().split_whitespace().nth(5)?.parse().ok()
}

#[test]
fn an_xdp_secondary_sends_the_zone_on_by_notify_and_ixfr_to_a_knotd_and_signed_axfr_to_kdig() {
    let test = "an_xdp_secondary_sends_the_zone_on_by_notify_and_ixfr_to_a_knotd_and_signed_axfr_to_kdig";
    if !can_run(test) || !required_tools(test, if kdig::available() { &[] } else { &["kdig"] }) {
        return;
    }
    let _turn = turn();
    let fleet = Fleet::create("frelay", &[1, 1, 1]).expect("fleet");
    let dir = tempfile::tempdir().unwrap();
    let (n0, n1, n2) = (fleet.node(0), fleet.node(1), fleet.node(2));
    let key = || KnotKey { id: KEY.into(), secret: SECRET.into() };
    let at = |n: &Node| SocketAddr::from((n.v4, 53));

    // Node 0: knotd, the hidden primary, sends to node 1 only.
    let hidden = KnotConfig {
        keys: vec![key()],
        remotes: vec![KnotRemote { id: "relay".into(), address: at(n1), key: Some(KEY.into()) }],
        acls: vec![KnotAcl {
            id: "relay".into(),
            address: vec![n1.v4.to_string(), n1.v6.to_string()],
            key: Some(KEY.into()),
            action: "transfer".into(),
        }],
        zones: vec![KnotZone::primary(ZONE, &quiet_zone(), &["relay"], &["relay"])],
    };
    let primary = KnotNode::start(n0, &fleet.hub_ns, &dir.path().join("primary"), &hidden);
    // Node 1: responder with XDP, a secondary of node 0 and a primary for
    // node 2 (NOTIFY) and the hub (kdig), every transfer signed.
    let mut config = secondary_config(&fleet, true, SECRET);
    config.remotes.push(Remote { id: "downstream".into(), address: at(n2), key: Some(KEY.into()) });
    config.zones =
        vec![Zone::secondary(ZONE, &["primary"]).with("acl = [\"downstream\"]").with("notify = [\"downstream\"]")];
    config.extra = format!(
        "[[acl]]\nid = \"downstream\"\naddress = [\"{}\", \"{}\", \"{}\", \"{}\"]\nkey = \"{KEY}\"\naction = \"transfer\"\n",
        n2.v4, n2.v6, n1.hub_v4, n1.hub_v6
    );
    let relay = ResponderNode::start(n1, &fleet.hub_ns, &dir.path().join("relay"), &config);
    wait_for("the relay's first AXFR", Duration::from_secs(15), || relay.serial(ZONE) == Some(1));
    // Node 2: knotd, a secondary of node 1, taking its signed NOTIFY.
    let edge = KnotConfig {
        keys: vec![key()],
        remotes: vec![KnotRemote { id: "relay".into(), address: at(n1), key: Some(KEY.into()) }],
        acls: vec![KnotAcl {
            id: "relay".into(),
            address: vec![n1.v4.to_string(), n1.v6.to_string()],
            key: Some(KEY.into()),
            action: "notify".into(),
        }],
        zones: vec![KnotZone::secondary(ZONE, &["relay"], &["relay"])],
    };
    let edge = KnotNode::start(n2, &fleet.hub_ns, &dir.path().join("edge"), &edge);
    wait_for("the edge's first AXFR", Duration::from_secs(15), || soa_serial(&fleet, at(n2)) == Some(1));
    assert!(edge.log().contains("AXFR, incoming"), "{}", edge.log());

    // A change on node 0: NOTIFY and IXFR to node 1, whose NOTIFY brings
    // node 2 to pull it by IXFR, well within the SOA's hour of refresh.
    primary.commit(ZONE, &["new 60 A 198.18.0.81"]);
    let took = wait_for("serial 2 on node 2", Duration::from_secs(10), || soa_serial(&fleet, at(n2)) == Some(2));
    eprintln!("{test}: the change reached node 2 through node 1 in {took:?}");
    assert_eq!(relay.serial(ZONE), Some(2));
    assert_eq!(relay.zone_status(ZONE)["last_transfer"], "IXFR");
    let edge_log = edge.log();
    assert!(edge_log.contains("IXFR, incoming, remote 198.19.1.1@53"), "{edge_log}");
    assert!(edge_log.contains("finished"), "{edge_log}");
    let new = ask_in(&fleet.hub_ns, at(n2), "new.example.test.", A).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(new.answer_text(), ["new.example.test. 60 A 198.18.0.81"], "node 2 serves the change");
    wait_for("the NOTIFY acknowledged", Duration::from_secs(5), || {
        let log = relay.log();
        log.contains("NOTIFY of serial 2 to downstream (198.19.2.1:53): acknowledged")
    });
    assert!(relay.log().contains("IXFR out: zone example.test. serial 2 to 198.19.2.1 (key xfr)"), "{}", relay.log());

    // AXFR from the hub, signed: kdig checks every message's TSIG.
    let mut kdig = Testbed::command_in(&fleet.hub_ns, "kdig");
    kdig.arg(format!("@{}", n1.v4)).arg("-y").arg(format!("hmac-sha256:{KEY}:{SECRET}")).args([
        "+retry=0",
        "+timeout=5",
        "AXFR",
        ZONE,
    ]);
    let out = run_bounded(&mut kdig, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kdig exited with {}:\n{text}", out.status);
    for error in [";; ERROR", ";; WARNING", "BADSIG", "BADKEY", "BADTIME", "NOTAUTH"] {
        assert!(!text.contains(error), "{error}:\n{text}");
    }
    assert!(text.contains("new.example.test.") && text.contains("\tTSIG\t"), "{text}");
    // SOA, NS, ns A, www A, mail MX, new A, then the SOA again.
    let records = text.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("\tTSIG\t"));
    assert_eq!(records.count(), 7, "{text}");
}
