//! Attaching to real interfaces (a veth pair in network namespaces made for
//! the test), checked from outside with `ip -j link show`. Nothing here
//! sends traffic.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use super::netns::{privileged, NetnsVeth, GENERIC, NATIVE, PATIENCE};
use super::*;

/// Tells the holder child (see [`attach_holder_child`]) where to attach.
const HOLDER_NS_ENV: &str = "RESPONDER_XDP_HOLDER_IFACE";

fn load() -> XdpProgram {
    XdpProgram::load(&SteeringConfig::default()).unwrap_or_else(|err| panic!("load: {err}"))
}

#[test]
fn native_attach_is_visible_and_dropping_detaches() {
    if !privileged("native_attach_is_visible_and_dropping_detaches") {
        return;
    }
    let bed = NetnsVeth::create("nat");
    let id = bed.run(|| {
        let mut program = load();
        assert_eq!(program.attach(&bed.iface, XdpMode::Native).expect("native attach"), AttachedMode::Native);
        assert_eq!(program.attachment(), Some((bed.iface.as_str(), AttachedMode::Native)));
        let id = program.kernel_id().expect("program id");
        assert_eq!(bed.xdp_state(&bed.iface), Some((NATIVE, id)));

        let err = program.attach(&bed.iface, XdpMode::Native).expect_err("second attach of one program");
        assert!(matches!(err, XdpProgramError::AlreadyAttachedHere { .. }), "{err}");

        let mut other = load();
        let err = other.attach(&bed.iface, XdpMode::Native).expect_err("interface is taken");
        assert!(matches!(err, XdpProgramError::AlreadyAttached { .. }), "{err}");
        let err = other.attach(&bed.iface, XdpMode::Generic).expect_err("native and generic cannot mix");
        assert!(matches!(err, XdpProgramError::AlreadyAttached { .. }), "{err}");
        drop(other);
        assert_eq!(bed.xdp_state(&bed.iface), Some((NATIVE, id)), "a failed attach must not disturb ours");
        id
    });
    assert_eq!(bed.wait_detached(&bed.iface), None, "program {id} still attached after drop");
}

#[test]
fn generic_attach_then_explicit_detach() {
    if !privileged("generic_attach_then_explicit_detach") {
        return;
    }
    let bed = NetnsVeth::create("gen");
    bed.run(|| {
        let mut program = load();
        assert_eq!(program.attach(&bed.iface, XdpMode::Generic).expect("generic attach"), AttachedMode::Generic);
        let id = program.kernel_id().expect("program id");
        assert_eq!(bed.xdp_state(&bed.iface), Some((GENERIC, id)));
        program.detach().expect("detach");
        assert_eq!(program.attachment(), None);
        assert_eq!(bed.wait_detached(&bed.iface), None);
        program.detach().expect("detaching twice is a no-op");
        // Detached, the same program can attach again.
        assert_eq!(program.attach(&bed.iface, XdpMode::Auto).expect("re-attach"), AttachedMode::Native);
        assert_eq!(bed.xdp_state(&bed.iface), Some((NATIVE, id)));
    });
    assert_eq!(bed.wait_detached(&bed.iface), None);
}

#[test]
fn auto_falls_back_to_generic_only_without_native_support() {
    if !privileged("auto_falls_back_to_generic_only_without_native_support") {
        return;
    }
    let bed = NetnsVeth::create("aut");
    bed.run(|| {
        // Loopback has no driver-level XDP.
        let mut program = load();
        let err = program.attach("lo", XdpMode::Native).expect_err("lo has no native XDP");
        assert!(matches!(err, XdpProgramError::NativeUnsupported { .. }), "{err}");
        assert_eq!(bed.xdp_state("lo"), None);
        assert_eq!(program.attach("lo", XdpMode::Auto).expect("auto on lo"), AttachedMode::Generic);
        assert_eq!(bed.xdp_state("lo").map(|(mode, _)| mode), Some(GENERIC));
        drop(program);
        assert_eq!(bed.wait_detached("lo"), None);

        // veth has native XDP, so auto must use it.
        let mut program = load();
        assert_eq!(program.attach(&bed.iface, XdpMode::Auto).expect("auto on veth"), AttachedMode::Native);
    });
}

#[test]
fn missing_interface_points_at_kernel_socket_mode() {
    if !privileged("missing_interface_points_at_kernel_socket_mode") {
        return;
    }
    let bed = NetnsVeth::create("mis");
    bed.run(|| {
        let mut program = load();
        for name in ["xnosuch0", "bad\0name", "a-name-longer-than-ifnamsiz"] {
            let err = program.attach(name, XdpMode::Auto).expect_err("no such interface");
            assert!(matches!(err, XdpProgramError::NoSuchInterface { .. }), "{name:?}: {err}");
            assert!(err.to_string().contains("--iface"), "{err}");
        }
        let err = program.attach_to_index(999_999, XdpMode::Native).expect_err("no such index");
        assert!(matches!(err, XdpProgramError::NoSuchInterface { .. }), "{err}");
        assert_eq!(program.attachment(), None);
    });
}

/// Kills the child without waiting for it to exit on its own, even when
/// the test fails half-way.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn killing_the_owner_process_detaches() {
    if !privileged("killing_the_owner_process_detaches") {
        return;
    }
    let bed = NetnsVeth::create("kil");
    let test_binary = std::env::current_exe().expect("test binary path");
    // Test names omit the crate: `xdp::program::tests::attach::attach_holder_child`.
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
    let child = Command::new("ip")
        .args(["netns", "exec", &bed.ns])
        .arg(&test_binary)
        .args([&format!("{module}::attach_holder_child"), "--exact", "--ignored", "--nocapture"])
        .env(HOLDER_NS_ENV, &bed.iface)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the holder");
    let mut child = ChildGuard(child);

    // The holder prints `ATTACHED <id>` once its link is in place.
    let stdout = child.0.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("ATTACHED ") {
                let _ = tx.send(id.trim().parse::<u32>().ok());
                return;
            }
        }
    });
    let id = rx.recv_timeout(PATIENCE).expect("holder attached in time").expect("holder printed its program id");
    assert_eq!(bed.xdp_state(&bed.iface), Some((NATIVE, id)));

    child.0.kill().expect("kill the holder"); // SIGKILL: no destructor runs
    child.0.wait().expect("reap the holder");
    assert_eq!(bed.wait_detached(&bed.iface), None, "program {id} outlived its process");
}

/// Not a test: the process [`killing_the_owner_process_detaches`] kills.
/// Attaches, announces the program id, then waits (bounded) to be killed.
#[test]
#[ignore = "helper process for killing_the_owner_process_detaches"]
fn attach_holder_child() {
    let Ok(iface) = std::env::var(HOLDER_NS_ENV) else {
        eprintln!("attach_holder_child: only runs as a child of killing_the_owner_process_detaches");
        return;
    };
    let mut program = load();
    program.attach(&iface, XdpMode::Native).expect("holder attach");
    println!("ATTACHED {}", program.kernel_id().expect("program id"));
    std::thread::sleep(PATIENCE * 2);
    panic!("attach_holder_child was not killed within {:?}", PATIENCE * 2);
}
