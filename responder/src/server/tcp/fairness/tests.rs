use std::net::{IpAddr, Ipv4Addr};

use super::*;

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, last))
}

fn at(start: Instant, millis: u64) -> Instant {
    start + Duration::from_millis(millis)
}

#[test]
fn clients_are_ipv4_addresses_and_ipv6_slash_64s() {
    assert_eq!(client_of("198.18.0.7".parse().unwrap()), v4(7));
    assert_eq!(client_of("::ffff:198.18.0.7".parse().unwrap()), v4(7), "v4-mapped counts as IPv4");
    let host = client_of("fd00:1:2:3:4:5:6:7".parse().unwrap());
    assert_eq!(host, "fd00:1:2:3::".parse::<IpAddr>().unwrap());
    assert_eq!(client_of("fd00:1:2:3:ffff:ffff:ffff:ffff".parse().unwrap()), host, "same /64");
    assert_ne!(client_of("fd00:1:2:4::1".parse().unwrap()), host, "next /64");
}

#[test]
fn idle_timeout_holds_to_half_full_then_falls_to_the_floor() {
    let ten = Duration::from_secs(10);
    assert_eq!(idle_timeout_at(ten, 0, 1024), ten);
    assert_eq!(idle_timeout_at(ten, 512, 1024), ten);
    assert_eq!(idle_timeout_at(ten, 768, 1024), Duration::from_millis(5500));
    assert_eq!(idle_timeout_at(ten, 1024, 1024), IDLE_FLOOR);
    assert_eq!(idle_timeout_at(ten, 5000, 1024), IDLE_FLOOR, "over full stays at the floor");
    let mut previous = ten;
    for open in 513..=1024 {
        let timeout = idle_timeout_at(ten, open, 1024);
        assert!(timeout < previous, "not falling at {open}");
        previous = timeout;
    }
    let short = Duration::from_millis(300);
    assert_eq!(idle_timeout_at(short, 1024, 1024), short, "a timeout below the floor is never raised");
}

#[test]
fn a_client_at_its_limit_is_refused_while_others_are_kept() {
    let now = Instant::now();
    let mut table = Fairness::new(100, 3, Duration::from_secs(10));
    for slot in 0..3 {
        assert_eq!(table.admit(v4(1)), Admission::Keep);
        table.insert(slot, v4(1), now);
    }
    assert_eq!(table.admit(v4(1)), Admission::RefuseClientLimit);
    assert_eq!(table.admit(v4(2)), Admission::Keep);
    table.remove(1);
    assert_eq!(table.held_by(v4(1)), 2);
    assert_eq!(table.admit(v4(1)), Admission::Keep, "a closed connection frees the client's share");
}

#[test]
fn full_table_evicts_the_busiest_clients_least_recently_active_connection() {
    let start = Instant::now();
    let mut table = Fairness::new(6, 6, Duration::from_secs(10));
    // Client 1 holds slots 0..4, client 2 holds 4 and 5.
    for slot in 0..4 {
        table.insert(slot, v4(1), at(start, slot as u64));
    }
    table.insert(4, v4(2), at(start, 0));
    table.insert(5, v4(2), at(start, 1));
    // Slot 0 answers a query: slot 1 is now client 1's least recently active.
    table.touch(0, at(start, 50));
    assert_eq!(table.busiest(), Some((v4(1), 4)));
    assert_eq!(table.admit(v4(3)), Admission::KeepEvicting(1), "newcomer takes the busiest's oldest");
    assert_eq!(table.admit(v4(2)), Admission::KeepEvicting(1), "a smaller holder takes it too");
    assert_eq!(table.admit(v4(1)), Admission::RefuseFull, "the busiest only shuffles its own");

    table.remove(1);
    table.insert(1, v4(3), at(start, 60));
    assert_eq!((table.open(), table.held_by(v4(1)), table.held_by(v4(3))), (6, 3, 1));
    assert_eq!(table.admit(v4(4)), Admission::KeepEvicting(2));
}

#[test]
fn when_everyone_holds_one_the_least_recently_active_goes() {
    let start = Instant::now();
    let mut table = Fairness::new(3, 3, Duration::from_secs(10));
    table.insert(0, v4(9), at(start, 5));
    table.insert(1, v4(1), at(start, 7));
    table.insert(2, v4(5), at(start, 3));
    assert_eq!(table.admit(v4(7)), Admission::KeepEvicting(2));
    table.touch(2, at(start, 9));
    assert_eq!(table.admit(v4(7)), Admission::KeepEvicting(0));
    assert_eq!(table.admit(v4(1)), Admission::RefuseFull);
}

#[test]
fn expiry_follows_activity_and_the_shrinking_timeout() {
    let start = Instant::now();
    let mut table = Fairness::new(4, 4, Duration::from_secs(10));
    table.insert(0, v4(1), start);
    table.insert(1, v4(2), at(start, 100));
    // Half full: the configured 10 s.
    assert_eq!(table.first_expired(at(start, 9_999)), None);
    assert_eq!(table.first_expired(at(start, 10_000)), Some(0));
    table.touch(0, at(start, 5_000));
    assert_eq!(table.first_expired(at(start, 10_099)), None);
    assert_eq!(table.first_expired(at(start, 10_100)), Some(1));
    // Full: the floor, so both go 1 s after their last activity.
    table.insert(2, v4(3), at(start, 5_000));
    table.insert(3, v4(3), at(start, 5_000));
    assert_eq!(table.idle_timeout(), IDLE_FLOOR);
    assert_eq!(table.first_expired(at(start, 1_099)), None);
    assert_eq!(table.first_expired(at(start, 1_100)), Some(1));
    table.remove(1);
    assert_eq!(table.idle_timeout(), Duration::from_millis(5500), "three of four: the timeout grows back");
    assert_eq!(table.first_expired(at(start, 10_499)), None);
    assert_eq!(table.first_expired(at(start, 10_500)).map(|slot| slot != 1), Some(true));
}

#[test]
fn counts_stay_consistent_through_any_sequence_of_events() {
    let start = Instant::now();
    let mut table = Fairness::new(64, 8, Duration::from_secs(10));
    let mut held: Vec<Option<IpAddr>> = vec![None; 64];
    // A fixed pseudo-random walk of inserts, touches and removals.
    let mut state = 0x2545_f491_u64;
    for step in 0..20_000u64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let slot = (state % 64) as usize;
        let client = v4((state >> 8) as u8 % 12);
        let now = at(start, step);
        match (held[slot], (state >> 16) % 3) {
            (None, _) => {
                if matches!(table.admit(client), Admission::Keep) {
                    table.insert(slot, client, now);
                    held[slot] = Some(client);
                }
            }
            (Some(_), 0) => {
                table.remove(slot);
                held[slot] = None;
            }
            (Some(_), _) => table.touch(slot, now),
        }
        assert_eq!(table.open(), held.iter().flatten().count());
    }
    for client in (0..12).map(v4) {
        let expected = held.iter().flatten().filter(|&&c| c == client).count();
        assert_eq!(table.held_by(client), expected);
        assert!(expected <= 8);
    }
    let most = (0..12).map(|c| table.held_by(v4(c))).max().unwrap();
    assert_eq!(table.busiest().map_or(0, |(_, count)| count), most);
    (0..64).for_each(|slot| table.remove(slot));
    assert_eq!((table.open(), table.busiest(), table.first_expired(at(start, 1 << 40))), (0, None, None));
}
