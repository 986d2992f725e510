use super::super::report::Status;
use super::*;

fn up() -> LinkInfo {
    LinkInfo { flags: libc::IFF_UP as u32, carrier: Some(true), operstate: Some(6), ..LinkInfo::default() }
}

#[test]
fn frame_sizes_bound_the_mtu() {
    assert_eq!(max_mtu_for_frame(2048), 1770);
    assert_eq!(max_mtu_for_frame(4096), 3818);
    let i40e = drivers::lookup("i40e");
    assert_eq!(mtu("eth0", Some(1500), Some(9702), i40e).status, Status::Ok);
    let jumbo_ish = mtu("eth0", Some(2000), None, i40e);
    assert_eq!(jumbo_ish.status, Status::Warn);
    assert!(jumbo_ish.fix.as_deref().unwrap().contains("--frame-size 4096"), "{jumbo_ish:?}");
    let over = mtu("eth0", Some(9000), None, i40e);
    assert!(over.finding.contains("3046") && over.fix.as_deref() == Some("ip link set dev eth0 mtu 1500"), "{over:?}");
    let unknown = mtu("eth0", Some(9000), None, None);
    assert_eq!(unknown.status, Status::Warn);
    assert_eq!(mtu("eth0", None, None, None).status, Status::Warn);
}

#[test]
fn link_state() {
    assert_eq!(link("eth0", &up()).status, Status::Ok);
    let down = link("eth0", &LinkInfo::default());
    assert_eq!((down.status, down.fix.as_deref()), (Status::Fail, Some("ip link set dev eth0 up")));
    let no_carrier = LinkInfo { carrier: Some(false), ..up() };
    assert_eq!(link("eth0", &no_carrier).status, Status::Warn);
}

#[test]
fn queue_suggestions() {
    let ch = |combined, max_combined| Channels { combined, max_combined, ..Channels::default() };
    let i40e = drivers::lookup("i40e");
    let few = queues("eth0", &Ok(ch(2, 64)), &up(), 8, i40e);
    assert_eq!((few.status, few.fix.as_deref()), (Status::Warn, Some("ethtool -L eth0 combined 8")));
    assert_eq!(few.facts["rx_queues"], 2);
    assert_eq!(queues("eth0", &Ok(ch(8, 64)), &up(), 8, i40e).status, Status::Ok);
    let ena = queues("eth0", &Ok(ch(8, 8)), &up(), 8, drivers::lookup("ena"));
    assert_eq!((ena.status, ena.fix.as_deref()), (Status::Fail, Some("ethtool -L eth0 combined 4")));
    let virtio = queues("eth0", &Ok(ch(1, 1)), &up(), 2, drivers::lookup("virtio_net"));
    assert_eq!(
        (virtio.status, virtio.fix.as_deref()),
        (Status::Warn, Some("give the VM 3 queues (libvirt: <driver queues='3'/>)"))
    );
    // veth-style: separate RX/TX counts, no combined channels.
    let split = Channels { rx: 2, tx: 2, max_rx: 2, max_tx: 2, ..Channels::default() };
    let veth = queues("veth0", &Ok(split), &up(), 2, drivers::lookup("veth"));
    assert_eq!((veth.status, veth.facts["rx_queues"].as_u64()), (Status::Ok, Some(2)));
    // No channels at all: the kernel's queue count.
    let lo = LinkInfo { rx_queues: Some(1), tx_queues: Some(1), ..up() };
    let unsupported = Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
    let fallback = queues("lo", &unsupported, &lo, 2, None);
    assert_eq!((fallback.status, fallback.facts["source"].as_str()), (Status::Ok, Some("netlink")));
}

#[test]
fn offloads_that_hurt() {
    let f = |active, fixed| Feature { active, fixed };
    let features = Ok(vec![
        ("rx-lro".to_string(), f(true, false)),
        ("rx-gro-hw".to_string(), f(true, true)),
        ("rx-vlan-hw-parse".to_string(), f(true, false)),
    ]);
    let checks = offloads("eth0", &features, &[]);
    let by = |n: &str| checks.iter().find(|c| c.name == n).unwrap().clone();
    assert_eq!(by("lro").fix.as_deref(), Some("ethtool -K eth0 lro off"));
    let fixed = by("hw-gro");
    assert_eq!(fixed.status, Status::Warn, "fixed: the probe decides, ethtool cannot help");
    assert!(fixed.fix.unwrap().contains("xdp-native"));
    assert_eq!(by("vlan-offload").status, Status::Ok, "no VLANs in use");
    let with_vlan = offloads("eth0", &features, &["eth0.100".to_string()]);
    let vlan = with_vlan.iter().find(|c| c.name == "vlan-offload").unwrap();
    assert_eq!((vlan.status, vlan.fix.as_deref()), (Status::Warn, Some("ethtool -K eth0 rxvlan off txvlan off")));
    let none = offloads("eth0", &Ok(vec![]), &[]);
    assert!(none.iter().all(|c| c.status == Status::Ok));
    let unreadable = offloads("eth0", &Err(io::Error::from_raw_os_error(libc::EPERM)), &[]);
    assert_eq!(unreadable[0].status, Status::Warn);
}

#[test]
fn cpus_and_irqs() {
    let c = numa(Some(1), Some(&[8, 9, 10, 11]), &[0, 1, 8, 9, 10, 11], 2);
    assert_eq!(c.facts["suggested_cpus"], "8,9");
    assert!(c.finding.contains("--cpus 8,9"), "{c:?}");
    assert_eq!(numa(None, None, &[0, 1], 4).facts["suggested_cpus"], "0,1");
    let irq = Irq { number: 40, affinity: "2".into(), hint: None };
    assert_eq!(irqs(std::slice::from_ref(&irq), false).status, Status::Ok);
    assert_eq!(irqs(&[irq], true).status, Status::Warn);
    assert_eq!(irqs(&[], true).status, Status::Ok, "no IRQs, nothing for irqbalance to move");
}

#[test]
fn privileges_and_memory() {
    let all = super::super::host::NEEDED.iter().fold(0u64, |m, (c, _)| m | 1 << c);
    let root = Privileges { euid: 0, capabilities: all, memlock: Some(8 << 20) };
    assert_eq!(privileges("eth0", &root).status, Status::Ok);
    let user = Privileges { euid: 1000, capabilities: 0, memlock: Some(8 << 20) };
    assert_eq!(privileges("eth0", &user).status, Status::Fail);
    assert_eq!(memlock(&root, 64).status, Status::Ok, "CAP_IPC_LOCK lifts the limit");
    assert_eq!(memlock(&user, 4).status, Status::Warn, "8 MiB < 32 MiB");
    assert_eq!(memlock(&Privileges { memlock: None, ..user }, 4).status, Status::Ok);
    assert_eq!(kernel(Some("5.4.0"), Some((5, 4))).status, Status::Fail);
    assert_eq!(kernel(Some("5.10.0"), Some((5, 10))).status, Status::Warn);
    assert_eq!(kernel(Some("6.18.0"), Some((6, 18))).status, Status::Ok);
}

#[test]
fn attached_programs_and_probes() {
    use super::super::netlink::XdpAttachMode;
    assert_eq!(attached("eth0", None, None).status, Status::Ok);
    let ours =
        attached("eth0", Some(AttachedXdp { mode: XdpAttachMode::Native, program_id: 7 }), Some("xdp_dns_steer"));
    assert_eq!(ours.status, Status::Warn);
    assert!(ours.finding.contains("responder is probably serving"), "{ours:?}");
    let in_generic = attached("eth0", Some(AttachedXdp { mode: XdpAttachMode::Generic, program_id: 7 }), None);
    assert!(in_generic.fix.unwrap().contains("xdpgeneric off"));
    assert_eq!(native("eth0", &Ok(())).status, Status::Ok);
    assert_eq!(native("eth0", &Err("EOPNOTSUPP".into())).status, Status::Warn);
    assert_eq!(generic(&Err("no".into())).status, Status::Fail);
    assert_eq!(zero_copy(Some(&ZeroCopyOutcome::CopyOnly)).facts["available"], false);
    assert_eq!(zero_copy(None).status, Status::Skip);
}

#[test]
fn driver_lines() {
    let info = Ok(DriverInfo {
        driver: "iavf".into(),
        version: "6.18".into(),
        firmware: "N/A".into(),
        bus_info: "0000:00:05.0".into(),
    });
    let c = driver("eth0", &info, None, None);
    assert_eq!(c.status, Status::Warn, "iavf has no native XDP");
    assert!(c.finding.starts_with("iavf 6.18 (bus 0000:00:05.0)"), "{c:?}");
    let lo = driver("lo", &Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP)), None, None);
    assert_eq!((lo.status, &lo.facts["name"]), (Status::Ok, &Value::Null));
    let from_sysfs =
        driver("eth0", &Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP)), Some("mlx5_core".into()), None);
    assert_eq!(from_sysfs.facts["name"], "mlx5_core");
}

#[test]
fn rss_spreads_by_port() {
    let sdfn = RxHashFields(0xf0);
    let sd = RxHashFields(0x30);
    assert_eq!(rss("eth0", &Ok((sdfn, sdfn)), 8).status, Status::Ok);
    let narrow = rss("eth0", &Ok((sd, sdfn)), 8);
    assert_eq!(narrow.status, Status::Warn);
    assert!(narrow.fix.unwrap().starts_with("ethtool -N eth0 rx-flow-hash udp4 sdfn"));
    assert_eq!(rss("eth0", &Ok((sd, sd)), 1).status, Status::Ok, "one queue: nothing to spread");
    assert_eq!(rss("veth0", &Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP)), 2).status, Status::Ok);
}
