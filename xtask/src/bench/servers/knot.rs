//! Knot DNS on kernel sockets, or with its own AF_XDP mode on the server
//! interface. One UDP worker (plus, in XDP mode, Knot's one XDP worker per
//! queue), no DNSSEC, nothing written back: the zone is served as loaded.

use super::{installed, write_config, Context, Launch, NotRun};

pub fn launch(xdp: bool, ctx: &Context<'_>) -> Result<Launch, NotRun> {
    let program = installed("knotd", "knot")?;
    let conf = ctx.dir.join("knot.conf");
    let iface = xdp.then_some(ctx.bed.bed.server_if.as_str());
    write_config(&conf, &config(&ctx.dir.display().to_string(), &ctx.zone.display().to_string(), iface))?;
    Ok(Launch {
        program,
        args: vec!["-c".to_owned(), conf.display().to_string()],
        ready_line: None,
        control_socket: None,
    })
}

/// The configuration; `xdp_iface` turns Knot's XDP mode on for UDP there.
pub fn config(dir: &str, zone: &str, xdp_iface: Option<&str>) -> String {
    testkit::peers::knot_config(dir, "bench.test.", zone, xdp_iface)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_mode_adds_the_xdp_section_only() {
        let plain = config("/tmp/k", "/tmp/z.zone", None);
        let xdp = config("/tmp/k", "/tmp/z.zone", Some("rs1"));
        assert!(!plain.contains("xdp:"));
        assert!(xdp.contains("xdp:\n    listen: rs1@53\n    udp: on\n"));
        for text in [&plain, &xdp] {
            assert!(text.contains("listen: 198.18.0.1@53"));
            assert!(text.contains("udp-workers: 1"));
            assert!(text.contains("file: /tmp/z.zone"));
        }
    }
}
