//! One server, start to finish: start it, gate it, walk the load ladder,
//! measure latency, stop it, and leave the server interface clean.

use std::path::Path;

use super::bed::BenchBed;
use super::gate;
use super::latency::{self, Latency};
use super::load::{self, Step};
use super::plan::{Plan, ServerKind};
use super::progress::Progress;
use super::servers::{Context, NotRun, RunningServer};
use super::stats::Spread;
use super::workload::{Files, Query};
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
}

impl ServerResult {
    fn new(kind: ServerKind, status: Status) -> ServerResult {
        ServerResult { kind, status, xdp_mode: None, points: Vec::new(), latency: None }
    }
}

pub struct Inputs<'a> {
    pub bed: &'a BenchBed,
    pub files: &'a Files,
    pub queries: &'a [Query],
    pub responder: &'a Path,
    pub floor: &'a Path,
    pub scratch: &'a Path,
}

pub fn server(kind: ServerKind, plan: &Plan, inputs: &Inputs<'_>, progress: &mut Progress) -> ServerResult {
    progress.note(kind, "starting");
    let ctx = Context {
        bed: inputs.bed,
        zone: &inputs.files.zone,
        dir: inputs.scratch.join(kind.name()),
        responder: inputs.responder,
        floor: inputs.floor,
    };
    let result = match RunningServer::start(kind, &ctx) {
        Ok(mut running) => {
            let result = measure_running(kind, plan, inputs, &mut running, progress);
            running.stop();
            result
        }
        Err(NotRun::Skipped(why)) => ServerResult::new(kind, Status::Skipped(why)),
        Err(NotRun::Failed(why)) => ServerResult::new(kind, Status::Failed(why)),
    };
    // knotd leaves its program attached; a crash would too.
    if let Err(e) = inputs.bed.detach_server_xdp() {
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
    if let Err(e) = ladder(kind, plan, inputs, running, pid, progress, &mut result.points) {
        result.status = Status::Failed(e);
        return result;
    }
    progress.note(kind, &format!("latency at {} q/s", plan.latency_rate));
    match latency::measure(inputs.bed, &inputs.files.dnsperf, plan.latency_rate, plan.latency_seconds)
        .and_then(|l| running.check_alive().map(|()| l))
    {
        Ok(l) => result.latency = Some(l),
        Err(e) => result.status = Status::Failed(format!("latency: {e}")),
    }
    result
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
    for &offered in &plan.rates {
        let mut point = Point { offered, steps: Vec::new() };
        for repeat in 1..=plan.repeats {
            if interrupt::interrupted() {
                return Err("interrupted".to_owned());
            }
            progress.note(kind, &format!("{} k q/s offered, repeat {repeat}/{}", offered / 1000, plan.repeats));
            let step = load::step(inputs.bed, &inputs.files.kxdpgun, offered, plan.seconds, pid)?;
            running.check_alive()?;
            point.steps.push(step);
        }
        let saturated = !point.generator_limited() && point.loss().is_some_and(|l| l.median > plan.saturation_loss);
        points.push(point);
        if saturated {
            break;
        }
    }
    Ok(())
}
