//! BIND 9 (named) as an authoritative-only server with one worker thread.
//! BIND has no response rate limiting unless configured, so nothing to turn
//! off; recursion is off, as for an authoritative server.

use super::{installed, write_config, Context, Launch, NotRun};
use crate::testbed::SERVER_V4;

pub fn launch(ctx: &Context<'_>) -> Result<Launch, NotRun> {
    let program = installed("named", "bind9")?;
    let conf = ctx.dir.join("named.conf");
    write_config(&conf, &config(&ctx.dir.display().to_string(), &ctx.zone.display().to_string()))?;
    // -g: foreground, log to stderr; -n 1: one worker thread, as the other
    // servers get one UDP worker.
    Ok(Launch {
        program,
        args: ["-g", "-n", "1", "-c", &conf.display().to_string()].map(str::to_owned).to_vec(),
        ready_line: None,
        control_socket: None,
    })
}

pub fn config(dir: &str, zone: &str) -> String {
    format!(
        "options {{\n    directory \"{dir}\";\n    pid-file \"{dir}/named.pid\";\n    \
         session-keyfile \"{dir}/session.key\";\n    managed-keys-directory \"{dir}\";\n    \
         listen-on port 53 {{ {SERVER_V4}; }};\n    listen-on-v6 {{ none; }};\n    recursion no;\n    \
         dnssec-validation no;\n    notify no;\n    allow-transfer {{ none; }};\n}};\n\
         controls {{ }};\n\
         zone \"bench.test\" {{\n    type primary;\n    file \"{zone}\";\n}};\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authoritative_only_on_the_testbed_address() {
        let text = config("/tmp/b", "/tmp/z.zone");
        assert!(text.contains("listen-on port 53 { 198.18.0.1; };"));
        assert!(text.contains("recursion no;"));
        assert!(text.contains("controls { };"));
        assert!(text.contains("zone \"bench.test\" {\n    type primary;\n    file \"/tmp/z.zone\";"));
        assert_eq!(text.matches('{').count(), text.matches('}').count());
    }
}
