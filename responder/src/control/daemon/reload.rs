//! Live reload: recompile the zones (or re-read the table) off the hot
//! path, then swap the new engine in (see `engine::live`). A zone that does
//! not load leaves the serving engine untouched.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::incremental::{self, FileZone, Incremental, Served, SECONDARY};
use super::served::{self, ServedZone};
use super::table_check::open_for_start;
use crate::control::zones;
use crate::engine::live::SharedEngine;
use crate::engine::{Engine, Options};
use crate::stats::breakdown::zones::ZoneNames;
use crate::table::Table;
use crate::transfer::inbound::Secondaries;
use crate::transfer::outbound::Outbound;
use crate::zone::{self, ReadLimits};

/// Where the served data comes from.
#[derive(Debug, Clone)]
pub enum ZoneSource {
    /// `--zone [NAME=]FILE` arguments, compiled at each load.
    Zones(Vec<String>),
    /// A table file from `responder compile`.
    Table(PathBuf),
}

impl ZoneSource {
    /// The zone files, each read afresh within `limits` (none for a
    /// table); the first error is returned, naming the file and line.
    fn read_files(&self, limits: &ReadLimits, secondaries: Option<&Secondaries>) -> Result<Vec<FileZone>, String> {
        match self {
            ZoneSource::Table(_) => Ok(Vec::new()),
            // Secondaries alone (or none yet, all from catalogs) are a zone set.
            ZoneSource::Zones(args) if args.is_empty() && secondaries.is_some() => Ok(Vec::new()),
            ZoneSource::Zones(args) => {
                let loaded = zones::load_all(args, limits)?.zones;
                Ok(args.iter().cloned().zip(loaded.into_iter().map(Arc::new)).collect())
            }
        }
    }

    /// The table from `files` and the secondary zones, each as its thread
    /// last left it (`Secondaries::serving`). Also returns the zones
    /// compiled (none from a table file), for the zones sent out
    /// (`transfer::outbound`): shared with `files` and the secondaries, not
    /// copies (a deep copy of every zone was held through the compile,
    /// beside the originals).
    ///
    /// A table file is checked whole before it is served, except at `start`:
    /// then only its structure is (`Table::open_unchecked`), and
    /// `table_check` runs the rest once the server answers.
    fn compile(
        &self,
        files: &[FileZone],
        options: &Options,
        secondaries: Option<&Secondaries>,
        start: bool,
    ) -> Result<(Engine, Vec<Arc<zone::Zone>>), String> {
        let mut zones = Vec::new();
        let table = match self {
            ZoneSource::Table(path) => {
                // A FIFO would block the open, and so every later reload, for ever.
                zone::require_regular_file(path)?;
                let opened = if start { open_for_start(path) } else { Table::open(path) };
                opened.map_err(|e| format!("{}: {e}", path.display()))?
            }
            ZoneSource::Zones(_) => {
                // Shared, not copied: a reload of one zone among many
                // compiles the others from the copies already held.
                let mut all: Vec<Arc<zone::Zone>> = files.iter().map(|(_, z)| Arc::clone(z)).collect();
                if let Some(s) = secondaries {
                    s.set_file_zones(files.iter().map(|(_, z)| z.origin.clone()).collect());
                    all.extend(s.serving());
                }
                let table = Table::compile_from(&all).map_err(|e| e.to_string())?;
                zones = all;
                table
            }
        };
        Ok((Engine::new(table, options.clone()), zones))
    }
}

/// What the next load starts from; changed only under `Reloader::loading`.
struct Loading {
    source: ZoneSource,
    /// The zone files as last loaded: a swap of secondary zones and a
    /// `zone-reload` of one zone reuse the others instead of reading them.
    files: Vec<FileZone>,
    /// The secondary zones as the engine serving now has them (after
    /// `files` in the table), for the next change set.
    secondaries: Vec<Arc<zone::Zone>>,
    /// The options of the engine serving now.
    options: Options,
    /// The zones as the engine serving now has them, for the next change
    /// set (`incremental`); `None` after a full compile.
    incremental: Option<Incremental>,
}

/// How a load reached the engine it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPath {
    /// Compiled whole (or read from a table file).
    Full,
    /// The changes applied as an overlay over the table serving before.
    Overlay,
}

impl LoadPath {
    pub fn name(self) -> &'static str {
        match self {
            LoadPath::Full => "full",
            LoadPath::Overlay => "overlay",
        }
    }
}

/// What a successful load produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub zones: Vec<ServedZone>,
    pub table_bytes: usize,
    pub took: Duration,
    pub path: LoadPath,
}

/// Reload counts and the last outcome, for stats.
#[derive(Debug, Clone, Default)]
pub struct ReloadHistory {
    pub succeeded: u64,
    pub failed: u64,
    pub last_error: Option<String>,
    pub zones: Vec<ServedZone>,
    /// When the zones served now were loaded (at start or by the last
    /// successful reload), and when a reload last failed; Unix seconds.
    pub loaded_at: f64,
    pub failed_at: Option<f64>,
    /// Of the successful reloads, those applied as an overlay.
    pub overlaid: u64,
    /// Tables served from the start and withdrawn when their check, run
    /// while they served, failed (each also counted in `failed`).
    pub withdrawn: u64,
    /// How the last successful load went, and why the last reload that
    /// could have been an overlay was compiled whole.
    pub last_path: Option<LoadPath>,
    pub last_fallback: Option<String>,
    /// What the last load applied as an overlay did.
    pub last_overlay: Option<OverlayApplied>,
}

/// What a load applied as an overlay did, for stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayApplied {
    /// What asked for it: `reload`, `zone-reload` or `transfer` (a
    /// secondary zone's new copy).
    pub by: &'static str,
    /// Zones that changed, records deleted and added, names compiled anew.
    pub zones: usize,
    pub records: usize,
    pub compiled: usize,
}

/// The secondary zones of a compile's `zones` (after the files').
fn secondaries_of(files: &[FileZone], zones: &[Arc<zone::Zone>]) -> Vec<Arc<zone::Zone>> {
    zones.get(files.len()..).unwrap_or_default().to_vec()
}

/// The zones in table order, each with where it comes from.
fn served_zones<'a>(files: &'a [FileZone], secondaries: &'a [Arc<zone::Zone>]) -> Vec<Served<'a>> {
    files.iter().map(|(arg, z)| (arg.as_str(), z)).chain(secondaries.iter().map(|z| (SECONDARY, z))).collect()
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

pub struct Reloader {
    limits: ReadLimits,
    secondaries: Option<Arc<Secondaries>>,
    engine: SharedEngine,
    /// Held for a whole reload, so SIGHUP and `ctl reload` arriving together
    /// compile one after the other instead of racing to swap. Stats never
    /// take it: a reload of millions of names (or a zone file that never
    /// ends) must not stall `/metrics` or `ctl stats`.
    reloading: Mutex<Loading>,
    /// Taken only to copy in or out, never across a load.
    history: Mutex<ReloadHistory>,
    /// The config file the TSIG keys come from, read again at each reload
    /// (a key added, rotated or removed takes effect without a restart).
    keys_from: Option<PathBuf>,
    /// The config file the zone set comes from, read again at each reload
    /// (zones added or removed take effect without a restart); `None` when
    /// the zones came from the command line.
    zones_from: Option<PathBuf>,
    /// Zones sent out: given every load's zones once it serves them.
    outbound: Option<Arc<Outbound>>,
    /// What derives from the engine outside it (tier 0's answers): each is
    /// prepared from a new engine before it is served, and committed right
    /// after, under `reloading`.
    followers: Mutex<Vec<Follower>>,
    /// Which zone each metrics slot counts, kept across reloads.
    zone_names: Arc<ZoneNames>,
    /// The table file served at start before its check, and the engine
    /// serving it: taken once by `table_check`. Weak, so that a reload
    /// that replaced it frees it.
    unchecked: Mutex<Option<(PathBuf, Weak<Engine>)>>,
}

/// `engine` counting each zone in the slot its name holds (given one now if new).
fn slotted(engine: Engine, names: &ZoneNames) -> Engine {
    let slots = names.slots_for(&served::names_by_index(&engine));
    engine.with_zone_slots(slots)
}

/// Prepares from a new engine; what it returns is run once it is served.
pub type Follower = Box<dyn Fn(&Engine) -> Box<dyn FnOnce() + Send> + Send + Sync>;

impl Reloader {
    /// Loads the first engine; fails without serving anything on error.
    /// Under the default read limits: `serve` passes its own to `start_sending`.
    #[cfg(test)]
    pub fn start(source: ZoneSource, options: Options) -> Result<(Reloader, Loaded), String> {
        Reloader::start_sending(source, options, ReadLimits::default(), None, None)
    }

    /// [`Reloader::start`] with zone files read within `limits`, at start
    /// and at every reload, `secondaries` compiled in beside them, and
    /// every load's zones given to `outbound` (the first without NOTIFY:
    /// secondaries ask at their own start).
    pub fn start_sending(
        source: ZoneSource,
        options: Options,
        limits: ReadLimits,
        secondaries: Option<Arc<Secondaries>>,
        outbound: Option<Arc<Outbound>>,
    ) -> Result<(Reloader, Loaded), String> {
        let started = Instant::now();
        // A config that lists no zone at all is a mistake at start; a
        // reload may still take every zone away.
        if matches!(&source, ZoneSource::Zones(args) if args.is_empty())
            && secondaries.as_deref().is_none_or(Secondaries::is_empty)
        {
            return Err("no zones given: use --zone FILE (or --table FILE), or [[zone]] in the config".into());
        }
        let files = source.read_files(&limits, secondaries.as_deref())?;
        let zone_names = Arc::new(ZoneNames::default());
        let (engine, zones) = source.compile(&files, &options, secondaries.as_deref(), true)?;
        let engine = slotted(engine, &zone_names);
        if let Some(outbound) = &outbound {
            outbound.update(&zones, false);
        }
        let serving_secondaries = secondaries_of(&files, &zones);
        drop(zones);
        let loaded = describe(&engine, started, LoadPath::Full);
        let history = ReloadHistory {
            zones: loaded.zones.clone(),
            loaded_at: unix_now(),
            last_path: Some(LoadPath::Full),
            ..ReloadHistory::default()
        };
        let engine = SharedEngine::new(engine);
        let unchecked = match &source {
            ZoneSource::Table(path) => Some((path.clone(), Arc::downgrade(&engine.load()))),
            ZoneSource::Zones(_) => None,
        };
        let reloader = Reloader {
            limits,
            secondaries,
            engine,
            reloading: Mutex::new(Loading {
                source,
                files,
                secondaries: serving_secondaries,
                options,
                incremental: None,
            }),
            history: Mutex::new(history),
            keys_from: None,
            zones_from: None,
            outbound,
            followers: Mutex::new(Vec::new()),
            zone_names,
            unchecked: Mutex::new(unchecked),
        };
        Ok((reloader, loaded))
    }

    pub fn secondaries(&self) -> Option<&Arc<Secondaries>> {
        self.secondaries.as_ref()
    }

    /// The zones sent out, when any is.
    pub fn outbound(&self) -> Option<&Arc<Outbound>> {
        self.outbound.as_ref()
    }

    pub fn engine(&self) -> &SharedEngine {
        &self.engine
    }

    /// The zone name of each metrics slot.
    pub fn zone_names(&self) -> &ZoneNames {
        &self.zone_names
    }

    /// Re-reads the TSIG keys from `config` at each reload; a file that
    /// no longer reads fails the reload and the old engine keeps serving.
    pub fn keys_from(mut self, config: Option<PathBuf>) -> Reloader {
        self.keys_from = config;
        self
    }

    /// Takes the zone set from `config` at each reload: `[[zone]]`s added
    /// or removed there are added or removed here (see `zone_set`).
    pub fn zones_from(mut self, config: Option<PathBuf>) -> Reloader {
        self.zones_from = config;
        self
    }

    /// The options for the next load: the keys as the config file has them now.
    /// With them, the keys and ACLs as the file has them now, for the
    /// zones sent out (`None`: unchanged).
    fn current_options(&self, serving: &Options) -> Result<(Options, Option<crate::access::Access>), String> {
        let Some(path) = &self.keys_from else { return Ok((serving.clone(), None)) };
        let settings = crate::control::cli::config::load(path)?;
        let access = settings.access.unwrap_or_default();
        Ok((Options { tsig: access.keys.clone(), ..serving.clone() }, Some(access)))
    }

    fn lock_loading(&self) -> std::sync::MutexGuard<'_, Loading> {
        self.reloading.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads everything again (the zone set too, from the config file) and,
    /// if it all loads, serves it.
    pub fn reload(&self) -> Result<Loaded, String> {
        let mut loading = self.lock_loading();
        let outcome = self.reload_all(&mut loading);
        self.record(outcome)
    }

    fn reload_all(&self, loading: &mut Loading) -> Result<Loaded, String> {
        let started = Instant::now();
        let (options, access) = self.current_options(&loading.options)?;
        let set = super::zone_set::read(self.zones_from.as_deref())?;
        let source = match (&set, &loading.source) {
            (Some(set), ZoneSource::Zones(_)) => ZoneSource::Zones(set.files.clone()),
            _ => loading.source.clone(),
        };
        let files = source.read_files(&self.limits, self.secondaries.as_deref())?;
        if let (Some(set), Some(secondaries)) = (set, &self.secondaries) {
            super::zone_set::check_overlap(&files, &set.secondaries)?;
            for change in secondaries.configure(set.secondaries)? {
                tracing::info!("reload: {change}");
            }
        }
        let same_source = matches!((&source, &loading.source), (ZoneSource::Zones(a), ZoneSource::Zones(b)) if a == b);
        if same_source && options == loading.options {
            if let Some(loaded) = self.try_overlay(loading, files.clone(), started, "reload") {
                if let (Some(outbound), Some(access)) = (&self.outbound, access) {
                    outbound.set_access(access);
                }
                return Ok(loaded);
            }
        }
        let (engine, zones) = source.compile(&files, &options, self.secondaries.as_deref(), false)?;
        let secondaries = secondaries_of(&files, &zones);
        *loading = Loading { source, files, secondaries, options, incremental: None };
        if let (Some(outbound), Some(access)) = (&self.outbound, access) {
            outbound.set_access(access);
        }
        Ok(self.serve(engine, &zones, started, LoadPath::Full))
    }

    /// Serves `files` (read now; the same zone set as `loading`'s) and the
    /// secondary zones as their threads hold them now, as overlays over
    /// the engine serving now, if the policy and every apply allow
    /// (`incremental`); `None`: compile whole. `by` names the caller in
    /// the log and stats (`reload`, `zone-reload`, `transfer`).
    fn try_overlay(
        &self,
        loading: &mut Loading,
        files: Vec<FileZone>,
        started: Instant,
        by: &'static str,
    ) -> Option<Loaded> {
        if !matches!(loading.source, ZoneSource::Zones(_)) {
            return None;
        }
        // As `ZoneSource::compile` asks for them: a catalog member named
        // like a file zone is left out.
        let secondaries = match &self.secondaries {
            Some(s) => {
                s.set_file_zones(files.iter().map(|(_, z)| z.origin.clone()).collect());
                s.serving()
            }
            None => Vec::new(),
        };
        let current = self.engine.load();
        let old = served_zones(&loading.files, &loading.secondaries);
        let new = served_zones(&files, &secondaries);
        match incremental::apply_zones(&mut loading.incremental, &current, &old, &new) {
            Ok(Some(applied)) => {
                tracing::info!(
                    "{by}: {} records of {} zones applied as an overlay ({} names compiled) in {:.2?}",
                    applied.records,
                    applied.zones,
                    applied.compiled,
                    started.elapsed()
                );
                // The zones sent out get their new versions, as after a full compile.
                let zones: Vec<Arc<zone::Zone>> = match self.outbound {
                    Some(_) => new.iter().map(|(_, z)| Arc::clone(z)).collect(),
                    None => Vec::new(),
                };
                let done =
                    OverlayApplied { by, zones: applied.zones, records: applied.records, compiled: applied.compiled };
                drop((old, new));
                loading.files = files;
                loading.secondaries = secondaries;
                self.lock_history().last_overlay = Some(done);
                Some(self.serve(applied.engine, &zones, started, LoadPath::Overlay))
            }
            Ok(None) => None,
            Err(why) => {
                tracing::info!("{by}: compiled whole, not as an overlay: {why}");
                self.lock_history().last_fallback = Some(why);
                None
            }
        }
    }

    /// Swaps `engine` in (its followers prepared before, committed right
    /// after), then gives the zones sent out their new versions (which
    /// announces a changed serial by NOTIFY).
    fn serve(&self, engine: Engine, zones: &[Arc<zone::Zone>], started: Instant, path: LoadPath) -> Loaded {
        let engine = slotted(engine, &self.zone_names);
        let loaded = describe(&engine, started, path);
        // Noted before the swap, so whoever sees the new zones served also
        // sees this load counted (the zones' drop and NOTIFY come later).
        let mut history = self.lock_history();
        history.succeeded += 1;
        history.overlaid += (path == LoadPath::Overlay) as u64;
        history.last_path = Some(path);
        history.zones = loaded.zones.clone();
        history.loaded_at = unix_now();
        drop(history);
        self.swap_in(engine);
        if let Some(outbound) = &self.outbound {
            outbound.update(zones, true);
        }
        loaded
    }

    /// Serves `engine`: its followers prepared before the swap, committed
    /// right after.
    fn swap_in(&self, engine: Engine) {
        let followers = self.followers.lock().unwrap_or_else(|e| e.into_inner());
        let commits: Vec<_> = followers.iter().map(|prepare| prepare(&engine)).collect();
        self.engine.replace(engine);
        commits.into_iter().for_each(|commit| commit());
    }

    /// Serves what the secondary zones hold now beside the zone files as
    /// last loaded (no file is read again): a transfer's new copy, applied
    /// as an overlay when its difference from the copy served is small
    /// (an IXFR's, or an AXFR's of a few records), else compiled whole.
    pub fn swap_secondaries(&self) -> Result<Loaded, String> {
        let mut loading = self.lock_loading();
        let started = Instant::now();
        let files = loading.files.clone();
        if let Some(loaded) = self.try_overlay(&mut loading, files, started, "transfer") {
            return self.record(Ok(loaded));
        }
        let outcome = loading.source.compile(&loading.files, &loading.options, self.secondaries.as_deref(), false);
        let outcome = outcome.map(|(engine, zones)| {
            loading.secondaries = secondaries_of(&loading.files, &zones);
            loading.incremental = None;
            self.serve(engine, &zones, started, LoadPath::Full)
        });
        self.record(outcome)
    }

    /// `zone-reload ZONE` for a zone file: only its file is read again; the
    /// others are served as last loaded. An error names file and line and
    /// leaves the serving engine as it was.
    pub fn reload_zone(&self, zone: &zone::Name) -> Result<Loaded, String> {
        let mut loading = self.lock_loading();
        let started = Instant::now();
        let outcome = (|| {
            let Some(at) = loading.files.iter().position(|(_, z)| z.origin == *zone) else {
                return Err(format!("{zone} is not served from a zone file here"));
            };
            let (arg, _) = &loading.files[at];
            let (origin, file) = zones::parse_arg(arg)?;
            let fresh = zone::load_file_with(std::path::Path::new(file), origin.as_ref(), &self.limits)
                .map_err(|e| e.to_string())?;
            for w in &fresh.warnings {
                tracing::warn!("{w}");
            }
            if fresh.origin != *zone {
                return Err(format!("{file}: now holds zone {}, not {zone}: use reload", fresh.origin));
            }
            let mut files = loading.files.clone();
            files[at].1 = Arc::new(fresh);
            if let Some(loaded) = self.try_overlay(&mut loading, files.clone(), started, "zone-reload") {
                return Ok(loaded);
            }
            let (engine, zones) =
                loading.source.compile(&files, &loading.options, self.secondaries.as_deref(), false)?;
            loading.secondaries = secondaries_of(&files, &zones);
            loading.files = files;
            loading.incremental = None;
            Ok(self.serve(engine, &zones, started, LoadPath::Full))
        })();
        self.record(outcome)
    }

    /// Copies a failure into the history (`serve` notes a success). Callers
    /// hold `reloading`, so the history records loads in the order they ran.
    fn record(&self, outcome: Result<Loaded, String>) -> Result<Loaded, String> {
        // A success was noted by `serve`, as it swapped the engine in.
        if let Err(error) = &outcome {
            let mut history = self.lock_history();
            history.failed += 1;
            history.last_error = Some(error.clone());
            history.failed_at = Some(unix_now());
        }
        outcome
    }

    /// The table file served at start before its check and its engine,
    /// once (`table_check`); `None` when the zones were compiled (checked
    /// as they were built) or it was taken already.
    pub fn take_unchecked(&self) -> Option<(PathBuf, Weak<Engine>)> {
        self.unchecked.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Withdraws the table `failed` (whose check failed while it served):
    /// its zones answer SERVFAIL from now on, as Knot answers a zone it
    /// could not load, and the failure is counted and kept as the last
    /// reload error. Nothing else is touched: when a reload has replaced
    /// that engine meanwhile (a table checked whole before its swap), the
    /// engine serving stays and `false` is returned.
    pub fn withdraw(&self, failed: &Arc<Engine>, error: &str) -> Result<bool, String> {
        // Held across the swap, as by a reload: none can run in between.
        let loading = self.lock_loading();
        if !Arc::ptr_eq(&self.engine.load(), failed) {
            return Ok(false);
        }
        let zones = super::table_check::withdrawn_zones(&self.lock_history().zones);
        let table = Table::compile(&zones).map_err(|e| e.to_string())?;
        let engine = slotted(Engine::new(table, loading.options.clone()), &self.zone_names);
        let mut history = self.lock_history();
        history.failed += 1;
        history.withdrawn += 1;
        history.last_error = Some(error.to_string());
        history.failed_at = Some(unix_now());
        drop(history);
        self.swap_in(engine);
        Ok(true)
    }

    /// Keeps `follower` in step with every engine served from now on.
    pub fn follow(&self, follower: Follower) {
        self.followers.lock().unwrap_or_else(|e| e.into_inner()).push(follower);
    }

    pub fn history(&self) -> ReloadHistory {
        self.lock_history().clone()
    }

    fn lock_history(&self) -> std::sync::MutexGuard<'_, ReloadHistory> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn describe(engine: &Engine, started: Instant, path: LoadPath) -> Loaded {
    let overlay = engine.overlay().map_or(0, |o| o.bytes());
    Loaded {
        zones: served::zones(engine),
        table_bytes: engine.table().as_bytes().len() + overlay,
        took: started.elapsed(),
        path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_zone(dir: &std::path::Path, serial: u32, broken: bool) -> String {
        let path = dir.join("example.com.zone");
        let mut text = format!("$ORIGIN example.com.\n@ 300 IN SOA ns h {serial} 1 1 1 60\n@ NS ns\nns A 198.18.0.1\n");
        if broken {
            text.push_str("bad line with no type\n");
        }
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    #[test]
    fn a_reload_swaps_in_the_new_serial_and_a_broken_zone_keeps_the_old() {
        let dir = std::env::temp_dir().join(format!("rsp-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = write_zone(&dir, 1, false);
        let (reloader, loaded) = Reloader::start(ZoneSource::Zones(vec![file]), Options::default()).unwrap();
        assert_eq!(loaded.zones[0].serial, Some(1));
        let mut view = reloader.engine().local();

        write_zone(&dir, 2, false);
        assert_eq!(reloader.reload().unwrap().zones[0].serial, Some(2));
        assert_eq!(served::zones(view.current())[0].serial, Some(2), "serving threads see the new table");

        write_zone(&dir, 3, true);
        let error = reloader.reload().unwrap_err();
        assert!(error.contains("example.com.zone:5"), "the error names file and line: {error}");
        assert_eq!(served::zones(view.current())[0].serial, Some(2), "the old table keeps serving");
        let history = reloader.history();
        assert_eq!((history.succeeded, history.failed), (1, 1));
        assert!(history.failed_at.is_some_and(|failed| failed >= history.loaded_at && history.loaded_at > 1.0e9));
        assert_eq!(history.last_error.as_deref(), Some(error.as_str()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The table served at start is withdrawn (SERVFAIL, counted) only
    /// while it is the one serving: after a reload replaced it, the
    /// reload's table (checked whole before its swap) is left alone.
    #[test]
    fn only_the_table_still_serving_is_withdrawn() {
        let dir = tempfile::tempdir().unwrap();
        let zone = write_zone(dir.path(), 1, false);
        let table = dir.path().join("zones.tbl");
        let compile = || Table::compile(&[zone::load_file(std::path::Path::new(&zone), None).unwrap()]).unwrap();
        compile().write(&table).unwrap();
        let rcode = |engine: &Engine| {
            let q = crate::engine::tests::query_bytes("ns.example.com.", hickory_proto::rr::RecordType::A, None);
            let mut buf = vec![0u8; 4096];
            buf[..q.len()].copy_from_slice(&q);
            crate::engine::answer_message(engine, &mut buf, q.len(), crate::engine::Transport::Udp).unwrap();
            buf[3] & 0x0f
        };

        let (reloader, _) = Reloader::start(ZoneSource::Table(table.clone()), Options::default()).unwrap();
        let (path, first) = reloader.take_unchecked().expect("a table file is checked after the start");
        assert_eq!(path, table);
        assert!(reloader.take_unchecked().is_none(), "taken once");
        let first = first.upgrade().expect("serving");
        reloader.reload().unwrap();
        assert_eq!(reloader.withdraw(&first, "x.tbl: corrupt"), Ok(false));
        assert_eq!(rcode(&reloader.engine().load()), crate::wire::dns::rcode::NOERROR, "the reload's table serves");
        assert_eq!((reloader.history().failed, reloader.history().withdrawn), (0, 0));

        let serving = reloader.engine().load();
        assert_eq!(reloader.withdraw(&serving, "x.tbl: corrupt"), Ok(true));
        assert_eq!(rcode(&reloader.engine().load()), crate::wire::dns::rcode::SERVFAIL);
        let history = reloader.history();
        assert_eq!((history.failed, history.withdrawn), (1, 1));
        assert_eq!(history.last_error.as_deref(), Some("x.tbl: corrupt"));
        assert_eq!(history.zones[0].serial, Some(1), "the zones are still listed");
    }

    #[test]
    fn a_fifo_zone_path_fails_the_reload_at_once_and_the_old_zone_serves() {
        let dir = std::env::temp_dir().join(format!("rsp-reload-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = write_zone(&dir, 1, false);
        let (reloader, _) = Reloader::start(ZoneSource::Zones(vec![file.clone()]), Options::default()).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(&file).status().unwrap().success());

        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| done.send(reloader.reload().map(|_| ())).unwrap());
            let result = outcome.recv_timeout(Duration::from_secs(5));
            if result.is_err() {
                // Stuck opening the FIFO: give it a writer that closes at
                // once, so the reload ends and the test fails instead of hanging.
                let _ = std::fs::OpenOptions::new().write(true).open(&file);
            }
            let error = result.expect("the reload returns at once").unwrap_err();
            assert!(error.ends_with("is not a regular file (a FIFO): zone files must be regular files"), "{error}");
        });
        let history = reloader.history();
        assert_eq!((history.succeeded, history.failed, history.zones[0].serial), (0, 1, Some(1)));
        assert_eq!(served::zones(&reloader.engine().load())[0].serial, Some(1), "the old zone serves");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file edited a little (serial, one address) reloads as an overlay,
    /// `reload` and `zone-reload` alike, counted as such; one edited past
    /// the policy's share, or in its SOA's names, compiles whole and says why.
    #[test]
    fn small_edits_reload_as_an_overlay_and_large_ones_compile_whole() {
        let dir = std::env::temp_dir().join(format!("rsp-reload-overlay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("example.com.zone");
        let write = |serial: u32, mname: &str, moved: u32| {
            let mut text =
                format!("$ORIGIN example.com.\n@ 300 IN SOA {mname} h {serial} 1 1 1 60\n@ NS ns\nns A 198.18.0.1\n");
            for i in 0..100 {
                text.push_str(&format!("h{i} A 198.18.1.{}\n", if i < moved { 200 } else { i }));
            }
            std::fs::write(&path, text).unwrap();
        };
        let address = |reloader: &Reloader, name: &str| -> u8 {
            let engine = reloader.engine().load();
            let q = crate::engine::proptests::QuerySpec::new(name, 1).encode();
            let mut buf = vec![0u8; 512];
            buf[..q.len()].copy_from_slice(&q);
            let n = crate::engine::answer_message(&engine, &mut buf, q.len(), crate::engine::Transport::Udp).unwrap();
            buf[n - 1]
        };
        write(1, "ns", 0);
        let file = path.display().to_string();
        let (reloader, _) = Reloader::start(ZoneSource::Zones(vec![file]), Options::default()).unwrap();

        write(2, "ns", 1);
        let loaded = reloader.reload().unwrap();
        assert_eq!((loaded.path, loaded.zones[0].serial), (LoadPath::Overlay, Some(2)));
        assert_eq!((address(&reloader, "h0.example.com."), address(&reloader, "h1.example.com.")), (200, 1));
        let origin = zone::Name::parse("example.com.", None).unwrap().unwrap();
        write(3, "ns", 2);
        let loaded = reloader.reload_zone(&origin).unwrap();
        assert_eq!((loaded.path, loaded.zones[0].serial), (LoadPath::Overlay, Some(3)));
        assert_eq!(address(&reloader, "h1.example.com."), 200);

        // 30 addresses (60 records) more: past 1/8 of the 103 records.
        write(4, "ns", 32);
        let loaded = reloader.reload().unwrap();
        assert_eq!((loaded.path, loaded.zones[0].serial), (LoadPath::Full, Some(4)));
        assert_eq!(address(&reloader, "h31.example.com."), 200);
        assert!(reloader.engine().load().overlay().is_none(), "a full compile leaves no overlay");
        write(5, "ns2", 32);
        assert_eq!(reloader.reload().unwrap().path, LoadPath::Full);
        let history = reloader.history();
        assert_eq!((history.succeeded, history.overlaid, history.last_path), (4, 2, Some(LoadPath::Full)));
        assert!(history.last_fallback.as_deref().is_some_and(|w| w.contains("SOA")), "{:?}", history.last_fallback);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Metrics count a zone under the slot its name got first, whatever its
    /// index in later tables.
    #[test]
    fn a_zone_keeps_its_metrics_slot_when_a_reload_reorders_the_table() {
        use crate::engine::policy::SendAll;
        use crate::engine::{answer_message_with, Scratch, Transport};
        use crate::stats::Counting;
        let dir = std::env::temp_dir().join(format!("rsp-reload-slots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |file: &str, origin: &str| {
            let path = dir.join(file);
            std::fs::write(&path, format!("$ORIGIN {origin}\n@ 60 SOA ns h 1 1 1 1 1\n@ NS ns\nns A 198.18.0.1\n"))
                .unwrap();
            path.display().to_string()
        };
        let files = vec![write("1.zone", "example.com."), write("2.zone", "example.net.")];
        let (reloader, _) = Reloader::start(ZoneSource::Zones(files), Options::default()).unwrap();
        write("1.zone", "example.org.");
        reloader.reload().unwrap();
        assert_eq!(reloader.zone_names().names(), ["example.com.", "example.net.", "example.org."]);
        let mut counting = Counting::new(SendAll);
        for name in ["\x02ns\x07example\x03net\x00", "\x02ns\x07example\x03org\x00"] {
            let mut buf = vec![0u8; 512];
            buf[5] = 1;
            buf[12..12 + name.len()].copy_from_slice(name.as_bytes());
            buf[12 + name.len()..16 + name.len()].copy_from_slice(&[0, 1, 0, 1]);
            let engine = reloader.engine().load();
            let len = 16 + name.len();
            answer_message_with(&engine, &mut Scratch::default(), &mut buf, len, Transport::Udp, &[], &mut counting);
        }
        let counts = counting.breakdown().read();
        let noerror: Vec<u64> = counts.zone_rcode[..3].iter().map(|cells| cells[0]).collect();
        assert_eq!(noerror, [0, 1, 1], "example.net. still in slot 1, example.org. in slot 2");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_first_load_that_fails_serves_nothing() {
        let missing = ZoneSource::Zones(vec!["/nonexistent/zone".into()]);
        assert!(Reloader::start(missing, Options::default()).is_err());
    }
}
