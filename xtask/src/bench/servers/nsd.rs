//! NSD with one server process. Debian's NSD limits response rates by
//! default (`rrl-ratelimit: 200`), which drops most answers to a
//! single-source benchmark: turned off here, as for every other server.

use super::{installed, write_config, Context, Launch, NotRun};

pub fn launch(ctx: &Context<'_>) -> Result<Launch, NotRun> {
    let program = installed("nsd", "nsd")?;
    let conf = ctx.dir.join("nsd.conf");
    write_config(&conf, &config(&ctx.dir.display().to_string(), &ctx.zone.display().to_string()))?;
    // -d: stay in the foreground (and log to stderr), so the PID is ours.
    Ok(Launch {
        program,
        args: vec!["-d".to_owned(), "-c".to_owned(), conf.display().to_string()],
        ready_line: None,
        control_socket: None,
    })
}

pub fn config(dir: &str, zone: &str) -> String {
    testkit::peers::nsd_config(dir, "bench.test.", zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiting_is_off_and_state_stays_in_the_scratch_directory() {
        let text = config("/tmp/n", "/tmp/z.zone");
        assert!(text.contains("rrl-ratelimit: 0\n"));
        assert!(text.contains("server-count: 1\n"));
        assert!(text.contains("ip-address: 198.18.0.1@53"));
        assert!(text.contains("pidfile: \"/tmp/n/nsd.pid\""));
        assert!(text.contains("zonefile: \"/tmp/z.zone\""));
    }
}
