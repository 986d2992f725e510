//! One server, start to finish: start it, gate it, walk the load ladder,
//! measure latency (and, in tier-0 runs, the XDP program's own cost), stop
//! it, and leave the server interface clean.

use std::path::Path;

use super::bed::BenchBed;
use super::drops::Sampler;
use super::gate;
use super::latency::{self, Latency};
use super::load::{self, Step};
use super::modes::client_pass;
use super::modes::program_cost::{self, ProgramCost, StatsOn};
use super::plan::{Plan, ServerKind};
use super::progress::Progress;
use super::servers::{Context, NotRun, RunningServer};
use super::stats::Spread;
use super::summary::LOSS_THRESHOLD;
use super::workload::{Files, Query};
use super::xsk_stats::XskStat;
use crate::interrupt;

/// How a server's turn ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Measured,
    /// Not installed here; the reason says what to install.
    Skipped(String),
    /// Did not start, crashed, or a tool failed.
    Failed(String),
    /// Answered the gate's sample wrongly: measured no further, not ranked.
    WrongAnswers(Vec<String>),
}

/// All repeats of one offered rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub offered: u32,
    pub steps: Vec<Step>,
}

impl Point {
    pub fn answered(&self) -> Option<Spread> {
        Spread::of(&self.steps.iter().map(|s| s.answered_rate).collect::<Vec<_>>())
    }

    pub fn loss(&self) -> Option<Spread> {
        Spread::of(&self.steps.iter().map(Step::loss).collect::<Vec<_>>())
    }

    /// Most repeats could not send the offered rate.
    pub fn generator_limited(&self) -> bool {
        self.steps.iter().filter(|s| s.generator_limited()).count() * 2 > self.steps.len()
    }

    /// Share of one CPU the server used, per repeat.
    pub fn busy(&self) -> Option<Spread> {
        Spread::of(&self.steps.iter().filter_map(Step::busy).collect::<Vec<_>>())
    }

    pub fn cpu_per_million(&self) -> Option<Spread> {
        Spread::of(&self.steps.iter().filter_map(Step::cpu_per_million).collect::<Vec<_>>())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerResult {
    pub kind: ServerKind,
    pub status: Status,
    /// XDP attach mode seen on the server interface while it served.
    pub xdp_mode: Option<String>,
    pub points: Vec<Point>,
    pub latency: Option<Latency>,
    /// The XDP program's time per packet, measured in tier-0 runs for the
    /// responder's XDP modes; the error says why it is missing.
    pub program_cost: Option<Result<ProgramCost, String>>,
}

impl ServerResult {
    pub fn new(kind: ServerKind, status: Status) -> ServerResult {
        ServerResult { kind, status, xdp_mode: None, points: Vec::new(), latency: None, program_cost: None }
    }

    /// Share of the ladder's answers the XDP program gave itself from the
    /// tier-0 map; `None` for servers without the responder's program
    /// counters, or when a step's counters are unknown.
    pub fn tier0_share(&self) -> Option<f64> {
        if !self.kind.runs_responder_program() {
            return None;
        }
        let steps = self.points.iter().flat_map(|p| &p.steps);
        let (mut tier0, mut replies) = (0u64, 0u64);
        for step in steps {
            tier0 = tier0.saturating_add(step.drops.xsk(XskStat::AnsweredTier0)?);
            replies = replies.saturating_add(step.replies);
        }
        (replies > 0).then(|| (tier0 as f64 / replies as f64).min(1.0))
    }
}

/// Whether a server's XDP program cost is measured: in runs with the
/// tier-0 server, for it and the responder's other XDP modes and the floors
/// beside it; always for the in-kernel floor, whose program is all it does.
pub fn measures_program_cost(kind: ServerKind, plan: &Plan) -> bool {
    let beside_tier0 =
        (kind.runs_responder_program() || kind.is_floor()) && plan.servers.contains(&ServerKind::ResponderXdpT0);
    beside_tier0 || kind == ServerKind::FloorXdpTx
}

pub struct Inputs<'a> {
    pub bed: &'a BenchBed,
    pub files: &'a Files,
    pub queries: &'a [Query],
    pub responder: &'a Path,
    pub floor: &'a Path,
    pub scratch: &'a Path,
    /// Tier-0 runs: the client's XDP_PASS program, on while kdig or dnsperf
    /// ask ([`client_pass`]).
    pub client_pass: Option<&'a Path>,
}

impl Inputs<'_> {
    /// Puts the client's XDP_PASS program on (tier-0 runs only).
    fn client_pass_on(&self) -> Result<(), String> {
        self.client_pass.map_or(Ok(()), |object| client_pass::attach(self.bed, object))
    }

    /// Takes it off again, before kxdpgun brings its own.
    fn client_pass_off(&self) -> Result<(), String> {
        self.client_pass.map_or(Ok(()), |_| client_pass::detach(self.bed))
    }
}

pub fn server(kind: ServerKind, plan: &Plan, inputs: &Inputs<'_>, progress: &mut Progress) -> ServerResult {
    progress.note(kind, "starting");
    let ctx = Context {
        bed: inputs.bed,
        zone: &inputs.files.zone,
        dir: inputs.scratch.join(kind.name()),
        responder: inputs.responder,
        floor: inputs.floor,
        responder_args: &plan.responder_args,
    };
    let started = inputs.client_pass_on().map_err(NotRun::Failed).and_then(|()| RunningServer::start(kind, &ctx));
    let result = match started {
        Ok(mut running) => {
            let result = measure_running(kind, plan, inputs, &mut running, progress);
            running.stop();
            result
        }
        Err(NotRun::Skipped(why)) => ServerResult::new(kind, Status::Skipped(why)),
        Err(NotRun::Failed(why)) => ServerResult::new(kind, Status::Failed(why)),
    };
    // knotd leaves its program attached; a crash would too.
    if let Err(e) = inputs.bed.detach_server_xdp().and_then(|()| inputs.client_pass_off()) {
        eprintln!("\nxtask bench: {e}");
    }
    result
}

fn measure_running(
    kind: ServerKind,
    plan: &Plan,
    inputs: &Inputs<'_>,
    running: &mut RunningServer,
    progress: &mut Progress,
) -> ServerResult {
    let mut result = ServerResult::new(kind, Status::Measured);
    result.xdp_mode = running.xdp_mode.clone();
    progress.note(kind, "correctness gate");
    let problems = gate::check(inputs.bed, kind, inputs.queries, plan.gate_sample);
    if !problems.is_empty() {
        result.status = Status::WrongAnswers(problems);
        return result;
    }
    let Some(pid) = running.pid() else {
        result.status = Status::Failed("no process".to_owned());
        return result;
    };
    if let Err(e) = inputs.client_pass_off() {
        result.status = Status::Failed(e);
        return result;
    }
    if let Err(e) = ladder(kind, plan, inputs, running, pid, progress, &mut result.points) {
        result.status = Status::Failed(e);
        return result;
    }
    progress.note(kind, &format!("latency at {} q/s", plan.latency_rate));
    let dnssec_ok = plan.signed.is_some();
    let measured = inputs.client_pass_on().and_then(|()| {
        latency::measure(inputs.bed, &inputs.files.dnsperf, plan.latency_rate, plan.latency_seconds, dnssec_ok)
    });
    match inputs.client_pass_off().and(measured).and_then(|l| running.check_alive().map(|()| l)) {
        Ok(l) => result.latency = Some(l),
        Err(e) => {
            result.status = Status::Failed(format!("latency: {e}"));
            return result;
        }
    }
    if measures_program_cost(kind, plan) {
        progress.note(kind, &format!("XDP program cost at {} q/s", plan.cpu_rate));
        let cost = program_cost_step(plan, inputs, running, pid);
        if let Err(e) = running.check_alive() {
            result.status = Status::Failed(e);
        }
        result.program_cost = Some(cost);
    }
    result
}

/// One more step at the CPU rate with the kernel's BPF run-time stats on.
fn program_cost_step(
    plan: &Plan,
    inputs: &Inputs<'_>,
    running: &RunningServer,
    pid: u32,
) -> Result<ProgramCost, String> {
    let link = inputs.bed.server_link();
    let id = program_cost::prog_id_of(&link).ok_or_else(|| format!("no XDP program id in `ip link`: {link}"))?;
    let _stats = StatsOn::enable()?;
    let before = program_cost::sample(id)?;
    let drops = Sampler { bed: inputs.bed, control_socket: running.control_socket.clone() };
    load::step(inputs.bed, &inputs.files.kxdpgun, plan.cpu_rate, plan.seconds, pid, &drops)?;
    let after = program_cost::sample(id)?;
    let ns_per_packet = after.ns_per_run_since(&before).ok_or("the program did not run during the step")?;
    Ok(ProgramCost { offered: plan.cpu_rate, runs: after.run_cnt.saturating_sub(before.run_cnt), ns_per_packet })
}

/// Whether a server's ladder ends after this point: it saturated (higher
/// rates only overload it further), or the generator could not send the
/// rate and the server answered what came (a higher rate would measure the
/// generator again). The floor goes on to the top: it measures the
/// testbed, and its ladder records what kxdpgun sends at every rate.
pub fn ladder_ends(kind: ServerKind, point: &Point, saturation_loss: f64) -> bool {
    let Some(loss) = point.loss() else { return true };
    let at_ceiling = point.generator_limited() && loss.median <= LOSS_THRESHOLD && !kind.is_diagnostic();
    loss.median > saturation_loss || at_ceiling
}

fn ladder(
    kind: ServerKind,
    plan: &Plan,
    inputs: &Inputs<'_>,
    running: &mut RunningServer,
    pid: u32,
    progress: &mut Progress,
    points: &mut Vec<Point>,
) -> Result<(), String> {
    let drops = Sampler { bed: inputs.bed, control_socket: running.control_socket.clone() };
    for &offered in &plan.rates {
        let mut point = Point { offered, steps: Vec::new() };
        for repeat in 1..=plan.repeats {
            if interrupt::interrupted() {
                return Err("interrupted".to_owned());
            }
            progress.note(kind, &format!("{} k q/s offered, repeat {repeat}/{}", offered / 1000, plan.repeats));
            let step = load::step(inputs.bed, &inputs.files.kxdpgun, offered, plan.seconds, pid, &drops)?;
            running.check_alive()?;
            point.steps.push(step);
        }
        let stop = ladder_ends(kind, &point, plan.saturation_loss);
        points.push(point);
        if stop {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::tests::step;

    #[test]
    fn a_ladder_ends_at_saturation_or_at_the_generators_ceiling() {
        let point = |offered: u32, sent: u64, replies: u64| Point {
            offered,
            steps: vec![step(offered, sent, replies, 0.1); 3],
        };
        // Sent all, lost 10%: saturated.
        assert!(ladder_ends(ServerKind::Nsd, &point(300_000, 300_000, 270_000), 0.05));
        assert!(!ladder_ends(ServerKind::Nsd, &point(300_000, 300_000, 290_000), 0.05), "3% is not past 5%");
        // Sent 90% of the rate, answered all: the generator's ceiling.
        let ceiling = point(500_000, 450_000, 450_000);
        assert!(ladder_ends(ServerKind::ResponderXdp, &ceiling, 0.05));
        assert!(!ladder_ends(ServerKind::Floor, &ceiling, 0.05), "the floor records the generator's ceiling");
        // Sent 90% and lost 3%: the server is losing, the next rate may say more.
        assert!(!ladder_ends(ServerKind::KnotXdp, &point(500_000, 450_000, 436_000), 0.05));
        assert!(ladder_ends(ServerKind::Floor, &point(600_000, 450_000, 300_000), 0.05), "saturated all the same");
        assert!(ladder_ends(ServerKind::KnotXdp, &Point { offered: 1, steps: vec![] }, 0.05));
    }
}
