//! Running a study: plant the probes, lock the inputs, choose the learning rates of the
//! `lr_match` arms on the dev probes, train every arm with every seed (`jobs` runs at
//! once), and gather the results into a [`StudyResult`]; and replaying one run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::compare::compare_arms;
use super::lock::{FileHash, Inputs, Lock, LOCK_FILE};
use super::run::{perform, RunPlan, RunRecord, Scoring, RESULT_FILE};
use super::{summarise, EvalSuite, RunResult, SeedRun, StudyResult};
use crate::config::{Loss, StatsConfig, TrainConfig};
use crate::corpus::plant::{self, PlantFiles};
use crate::error::{Error, Result};
use crate::eval::probes::ProbeSet;
use crate::experiment::inference::InferenceSettings;
use crate::experiment::spec::{self, Study};

/// Builds a run's configuration from `huffvec train` options (the command line's parser).
pub type ConfigFor<'a> = &'a (dyn Fn(&[String]) -> Result<TrainConfig> + Sync);

/// Sub-directory of the study's output holding the planted corpus and probe table.
pub const DATA_DIR: &str = "data";
/// Sub-directory of the study's output holding one directory per run.
pub const RUNS_DIR: &str = "runs";
/// Sub-directory of the study's output holding the learning-rate matching runs.
pub const LR_DIR: &str = "lr";

/// The learning rate chosen for one arm on the dev probes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LrChoice {
    /// The arm.
    pub arm: String,
    /// Seed of the matching runs (not one of the study's seeds).
    pub seed: u64,
    /// Each multiplier tried: (multiplier, alpha, dev-probe MRR).
    pub tried: Vec<(f64, f32, Option<f64>)>,
    /// The alpha chosen: best dev MRR, ties to the multiplier nearest 1.
    pub alpha: f32,
}

/// A study ready to run: locked, every arm's configuration checked.
pub struct Prepared {
    /// The study's directory (absolute).
    pub out: PathBuf,
    /// The lock (written).
    pub lock: Lock,
    /// Each arm's configuration for the first seed, arms in order.
    pub configs: Vec<TrainConfig>,
    /// What every run is scored with.
    pub scoring: Scoring,
}

/// Each arm's configuration: the study's shared options, then the arm's. With a probe
/// table, `--keep` it, so that probes rarer than the minimum count still get vectors.
fn arm_configs(
    study: &Study,
    train_corpus: &Path,
    probes: Option<&Path>,
    config_for: ConfigFor<'_>,
) -> Result<Vec<TrainConfig>> {
    study
        .arms
        .iter()
        .map(|a| {
            let mut args = vec![
                "--input".to_string(),
                train_corpus.display().to_string(),
                "--epochs".into(),
                study.epochs.to_string(),
                "--threads".into(),
                study.threads.to_string(),
                "--seed".into(),
                study.seeds[0].to_string(),
            ];
            if let Some(p) = probes {
                args.extend(["--keep".to_string(), p.display().to_string()]);
            }
            args.extend(study.train.iter().cloned());
            args.extend(a.train.iter().cloned());
            config_for(&args).map_err(|e| Error::Config(format!("arm '{}': {e}", a.name)))
        })
        .collect()
}

/// Each arm's configuration on the locked inputs of the study in `out`.
fn locked_configs(lock: &Lock, out: &Path, config_for: ConfigFor<'_>) -> Result<Vec<TrainConfig>> {
    let probes = lock.inputs.probes.as_ref().map(|f| f.resolve(out));
    arm_configs(
        &lock.study,
        &lock.inputs.train_corpus.resolve(out),
        probes.as_deref(),
        config_for,
    )
}

/// Plants the probes into `out/data` (or takes the given files) and hashes every input.
fn gather_inputs(study: &Study, out: &Path, previous: Option<&Lock>) -> Result<Inputs> {
    if let Some(l) = previous.filter(|l| &l.study == study) {
        if l.verify_inputs(out).is_ok() && l.inputs.corpus.verify(out).is_ok() {
            return Ok(l.inputs.clone());
        }
    }
    if !study.corpus.is_file() {
        return Err(Error::Config(format!(
            "corpus {} does not exist",
            study.corpus.display()
        )));
    }
    let corpus = FileHash::of(&study.corpus, study.corpus.clone())?;
    let eval = crate::eval::suite::txt_files(&study.eval_dir)?
        .iter()
        .map(|p| FileHash::of(p, p.clone()))
        .collect::<Result<Vec<_>>>()?;
    let given = |p: &Option<PathBuf>| -> Result<Option<FileHash>> {
        p.as_ref().map(|p| FileHash::of(p, p.clone())).transpose()
    };
    let Some(ps) = &study.plant else {
        return Ok(Inputs {
            train_corpus: corpus.clone(),
            corpus,
            probes: given(&study.probes)?,
            heldout: given(&study.heldout)?,
            eval,
        });
    };
    let data = out.join(DATA_DIR);
    std::fs::create_dir_all(&data).map_err(|e| Error::io("cannot create", &data, e))?;
    let rel = |name: &str| PathBuf::from(DATA_DIR).join(name);
    let (planted, table, held) = (rel("corpus.txt"), rel("probes.tsv"), rel("heldout.txt"));
    let held_abs = out.join(&held);
    plant::plant_files(
        &PlantFiles {
            input: &study.corpus,
            output: &out.join(&planted),
            probes: &out.join(&table),
            heldout: (ps.holdout > 0.0).then_some(held_abs.as_path()),
        },
        &spec::plant_settings(ps),
    )?;
    Ok(Inputs {
        corpus,
        train_corpus: FileHash::of(&out.join(&planted), planted)?,
        probes: Some(FileHash::of(&out.join(&table), table)?),
        heldout: match ps.holdout > 0.0 {
            true => Some(FileHash::of(&held_abs, held)?),
            false => given(&study.heldout)?,
        },
        eval,
    })
}

/// Loads what the runs are scored with.
fn scoring(lock: &Lock, out: &Path) -> Result<Scoring> {
    let probes = match &lock.inputs.probes {
        Some(f) => Some(ProbeSet::load(&f.resolve(out))?),
        None => None,
    };
    let heldout = match &lock.inputs.heldout {
        Some(f) => {
            let p = f.resolve(out);
            Some(std::fs::read(&p).map_err(|e| Error::io("cannot read held-out text", &p, e))?)
        }
        None => None,
    };
    Ok(Scoring {
        suite: EvalSuite::from_dir(&lock.study.eval_dir, lock.study.restrict)?,
        probes,
        heldout,
        band_edges: lock.study.bands.clone(),
    })
}

/// Plants, locks and checks `study` in `out`; refuses a directory that holds another
/// study.
pub fn prepare(study: Study, out: &Path, config_for: ConfigFor<'_>) -> Result<Prepared> {
    std::fs::create_dir_all(out)
        .map_err(|e| Error::io("cannot create output directory", out, e))?;
    let out = std::path::absolute(out).map_err(|e| Error::io("cannot resolve", out, e))?;
    let lock_path = out.join(LOCK_FILE);
    let previous = match lock_path.is_file() {
        true => Some(Lock::read(&lock_path)?),
        false => None,
    };
    if let Some(p) = &previous {
        if p.study != study {
            return Err(Error::Config(format!(
                "{} holds another study (its lock's spec differs); use another --out DIR or \
                 remove it",
                out.display()
            )));
        }
    }
    // Check every arm before planting anything.
    arm_configs(&study, &study.corpus, None, config_for)?;
    let inputs = gather_inputs(&study, &out, previous.as_ref())?;
    let lock = Lock::new(study, inputs)?;
    if let Some(p) = &previous {
        if p.digest != lock.digest {
            return Err(Error::Config(format!(
                "{} holds this study on other inputs (the corpus or an eval file changed); \
                 use another --out DIR",
                out.display()
            )));
        }
    }
    lock.write(&out)?;
    ready(lock, out, config_for)
}

/// Performs `plans`, `jobs` at a time; `note` hears one line per run.
fn perform_all(
    plans: &[RunPlan],
    p: &Prepared,
    jobs: usize,
    note: &(dyn Fn(&str) + Sync),
) -> Result<Vec<RunRecord>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RunRecord>>> = Mutex::new(vec![None; plans.len()]);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let worker = || loop {
        if failure.lock().map_or(true, |f| f.is_some()) {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(plan) = plans.get(i) else { return };
        match perform(plan, &p.scoring, &p.lock.digest) {
            Ok((r, trained)) => {
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                note(&run_line(k, plans.len(), plan, &r, trained));
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
            }
            Err(e) => {
                if let Ok(mut f) = failure.lock() {
                    f.get_or_insert(Error::Config(format!(
                        "run {} seed {}: {e}",
                        plan.arm, plan.seed
                    )));
                }
                return;
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, plans.len().max(1)) {
            s.spawn(worker);
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let v = results
        .into_inner()
        .map_err(|_| Error::Internal("a study worker panicked".into()))?;
    v.into_iter()
        .map(|r| r.ok_or_else(|| Error::Internal("a planned run has no result".into())))
        .collect()
}

/// "[3/16] adagrad seed 2: 41 s, 520k words/s; test MRR level 2 0.013, ..." for one run.
fn run_line(k: usize, n: usize, plan: &RunPlan, r: &RunRecord, trained: bool) -> String {
    let what = match plan.lr_multiplier {
        Some(m) => format!("{} alpha x{m} seed {}", plan.arm, plan.seed),
        None => format!("{} seed {}", plan.arm, plan.seed),
    };
    if let Some(f) = &r.failed {
        return format!("[{k}/{n}] {what}: {f}");
    }
    let probes: Vec<String> = r
        .last()
        .map(|l| {
            l.probes
                .iter()
                .filter(|x| x.split == "test")
                .map(|x| format!("L{} {:.3}", x.level, x.mrr))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "[{k}/{n}] {what}: {}{:.0} s, {:.0} words/s{}",
        if trained { "" } else { "(done before) " },
        r.train_seconds,
        r.words_per_sec.unwrap_or(0.0),
        if probes.is_empty() {
            String::new()
        } else {
            format!("; test probe MRR {}", probes.join(" "))
        }
    )
}

/// The telemetry settings of a study run in `dir` (decade bands, so that they nest in the
/// study's bands).
fn stats_config(study: &Study, dir: &Path) -> Option<StatsConfig> {
    study.stats.map(|s| StatsConfig {
        path: Some(dir.join(super::run::STATS_FILE)),
        every_pct: s.every,
        sample: s.sample,
        band_base: 10,
        word_stats: None,
    })
}

/// Seed of the learning-rate matching runs: one past the study's largest.
fn lr_seed(study: &Study) -> u64 {
    study
        .seeds
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .wrapping_add(1)
}

/// The run of arm `a` (index) with `seed` and `alpha` into `dir`.
fn plan_run(
    p: &Prepared,
    a: usize,
    seed: u64,
    alpha: f32,
    lr: Option<f64>,
    dir: PathBuf,
) -> RunPlan {
    let mut cfg = p.configs[a].clone();
    cfg.params.seed = seed;
    cfg.params.alpha = alpha;
    let mut plan = RunPlan {
        arm: p.lock.study.arms[a].name.clone(),
        seed,
        lr_multiplier: lr,
        dir,
        cfg,
    };
    if lr.is_none() {
        if let Some(s) = stats_config(&p.lock.study, &plan.dir) {
            plan.cfg.run.stats = s;
        }
    }
    plan
}

/// The matching runs of every `lr_match` arm.
fn lr_plans(p: &Prepared) -> Vec<RunPlan> {
    let study = &p.lock.study;
    let mut plans = Vec::new();
    for (a, arm) in study.arms.iter().enumerate().filter(|(_, a)| a.lr_match) {
        for &m in &study.lr_grid {
            let alpha = (p.configs[a].params.alpha as f64 * m) as f32;
            let dir = p.out.join(LR_DIR).join(&arm.name).join(format!("x{m}"));
            plans.push(plan_run(p, a, lr_seed(study), alpha, Some(m), dir));
        }
    }
    plans
}

/// The alpha each arm trains with: the matched one, or its configured one.
fn choose_alphas(p: &Prepared, lr_runs: &[RunRecord]) -> (Vec<f32>, Vec<LrChoice>) {
    let study = &p.lock.study;
    let mut alphas: Vec<f32> = p.configs.iter().map(|c| c.params.alpha).collect();
    let mut choices = Vec::new();
    for (a, arm) in study.arms.iter().enumerate().filter(|(_, a)| a.lr_match) {
        let tried: Vec<(f64, f32, Option<f64>)> = lr_runs
            .iter()
            .filter(|r| r.arm == arm.name)
            .map(|r| {
                let mrr = p.scoring.probes.as_ref().and_then(|s| r.dev_mrr(s));
                (r.lr_multiplier.unwrap_or(1.0), r.alpha, mrr)
            })
            .collect();
        let best = tried.iter().filter(|t| t.2.is_some()).max_by(|x, y| {
            x.2.partial_cmp(&y.2)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| y.0.ln().abs().total_cmp(&x.0.ln().abs()))
        });
        if let Some(b) = best {
            alphas[a] = b.1;
        }
        choices.push(LrChoice {
            arm: arm.name.clone(),
            seed: lr_seed(study),
            tried,
            alpha: alphas[a],
        });
    }
    (alphas, choices)
}

/// The directory of arm `arm`'s run with `seed`.
pub fn run_dir(out: &Path, arm: &str, seed: u64) -> PathBuf {
    out.join(RUNS_DIR).join(arm).join(format!("seed-{seed}"))
}

/// Runs every arm with every seed, `jobs` runs at once, and gathers the study.
pub fn run(p: &Prepared, jobs: usize, note: &(dyn Fn(&str) + Sync)) -> Result<StudyResult> {
    let study = &p.lock.study;
    let lr = lr_plans(p);
    if !lr.is_empty() {
        note(&format!(
            "learning-rate matching: {} runs on the dev probes (seed {})",
            lr.len(),
            lr_seed(study)
        ));
    }
    let lr_runs = perform_all(&lr, p, jobs, note)?;
    let (alphas, choices) = choose_alphas(p, &lr_runs);
    let plans = main_plans(p, &alphas);
    note(&format!(
        "{} arms x {} seeds = {} runs, {jobs} at a time",
        study.arms.len(),
        study.seeds.len(),
        plans.len()
    ));
    let records = perform_all(&plans, p, jobs, note)?;
    Ok(collect(p, &records, choices))
}

/// Every arm with every seed, each arm at `alphas[arm]`.
fn main_plans(p: &Prepared, alphas: &[f32]) -> Vec<RunPlan> {
    let study = &p.lock.study;
    let mut plans = Vec::new();
    for (a, arm) in study.arms.iter().enumerate() {
        for &seed in &study.seeds {
            let dir = run_dir(&p.out, &arm.name, seed);
            plans.push(plan_run(p, a, seed, alphas[a], None, dir));
        }
    }
    plans
}

/// The locked study in `dir`: its inputs checked against the lock's SHA-256.
pub fn open(dir: &Path, config_for: ConfigFor<'_>) -> Result<Prepared> {
    let out = std::path::absolute(dir).map_err(|e| Error::io("cannot resolve", dir, e))?;
    let lock_path = out.join(LOCK_FILE);
    if !lock_path.is_file() {
        return Err(Error::Config(format!(
            "{} holds no study.lock.json; plan the study with `huffvec study --spec FILE \
             --out {} --plan-only`",
            out.display(),
            dir.display()
        )));
    }
    let lock = Lock::read(&lock_path)?;
    lock.verify_inputs(&out)?;
    ready(lock, out, config_for)
}

/// The study locked in `out`, with every arm's configuration and its scoring inputs.
fn ready(lock: Lock, out: PathBuf, config_for: ConfigFor<'_>) -> Result<Prepared> {
    let configs = locked_configs(&lock, &out, config_for)?;
    let scoring = scoring(&lock, &out)?;
    Ok(Prepared {
        out,
        lock,
        configs,
        scoring,
    })
}

/// One line of `plan.jsonl`: a run and the command that performs it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanLine {
    /// 0: learning-rate matching runs; 1: the study's runs, which need stage 0 done.
    pub stage: u32,
    /// The arm.
    pub arm: String,
    /// The seed.
    pub seed: u64,
    /// The multiplier of a learning-rate matching run.
    pub lr_multiplier: Option<f64>,
    /// Threads the run trains with.
    pub threads: usize,
    /// Its directory, relative to the study's.
    pub dir: PathBuf,
    /// The command that performs it (`huffvec study run DIR ...`).
    pub command: Vec<String>,
}

/// The plan file, in the study's directory.
pub const PLAN_FILE: &str = "plan.jsonl";

/// Every run of the study in order (stage 0, then 1), each with its command.
pub fn plan(p: &Prepared) -> Vec<PlanLine> {
    let exe = std::env::current_exe()
        .map(|e| e.display().to_string())
        .unwrap_or_else(|_| "huffvec".into());
    let line = |stage: u32, plan: &RunPlan| {
        let mut command = vec![
            exe.clone(),
            "study".into(),
            "run".into(),
            p.out.display().to_string(),
            "--arm".into(),
            plan.arm.clone(),
            "--seed".into(),
            plan.seed.to_string(),
        ];
        if let Some(m) = plan.lr_multiplier {
            command.extend(["--lr-multiplier".into(), m.to_string()]);
        }
        PlanLine {
            stage,
            arm: plan.arm.clone(),
            seed: plan.seed,
            lr_multiplier: plan.lr_multiplier,
            threads: plan.cfg.run.threads,
            dir: plan
                .dir
                .strip_prefix(&p.out)
                .unwrap_or(&plan.dir)
                .to_path_buf(),
            command,
        }
    };
    let alphas: Vec<f32> = p.configs.iter().map(|c| c.params.alpha).collect();
    let lr = lr_plans(p).into_iter().map(|r| line(0, &r));
    let main = main_plans(p, &alphas).into_iter().map(|r| line(1, &r));
    lr.chain(main).collect()
}

/// Writes `plan.jsonl` into the study's directory, atomically.
pub fn write_plan(p: &Prepared) -> Result<Vec<PlanLine>> {
    let lines = plan(p);
    let slot = crate::io::OutputSlot::reserve(&p.out.join(PLAN_FILE), &[])?;
    slot.commit(|w| {
        for l in &lines {
            serde_json::to_writer(&mut *w, l).map_err(std::io::Error::other)?;
            std::io::Write::write_all(w, b"\n")?;
        }
        Ok(())
    })?;
    Ok(lines)
}

/// The finished learning-rate runs, or the ones missing.
fn lr_records(p: &Prepared) -> std::result::Result<Vec<RunRecord>, Vec<RunPlan>> {
    let plans = lr_plans(p);
    let found: Vec<Option<RunRecord>> = plans
        .iter()
        .map(|r| RunRecord::read(&r.dir).filter(|x| x.lock_digest == p.lock.digest))
        .collect();
    if found.iter().all(Option::is_some) {
        Ok(found.into_iter().flatten().collect())
    } else {
        Err(plans
            .into_iter()
            .zip(found)
            .filter(|(_, f)| f.is_none())
            .map(|(r, _)| r)
            .collect())
    }
}

/// Performs one planned run (skipped when its result exists); a run of an `lr_match` arm
/// needs that arm's learning-rate runs done.
pub fn run_one(
    p: &Prepared,
    arm: &str,
    seed: u64,
    lr_multiplier: Option<f64>,
) -> Result<(RunRecord, bool)> {
    let study = &p.lock.study;
    study.arm(arm)?;
    let plan = match lr_multiplier {
        Some(m) => lr_plans(p)
            .into_iter()
            .find(|r| r.arm == arm && r.lr_multiplier == Some(m))
            .ok_or_else(|| {
                Error::Config(format!(
                    "the plan has no learning-rate run of arm '{arm}' with multiplier {m}"
                ))
            })?,
        None => {
            if !study.seeds.contains(&seed) {
                return Err(Error::Config(format!(
                    "seed {seed} is not one of the study's seeds {:?}",
                    study.seeds
                )));
            }
            let lr = lr_records(p).map_err(|missing| {
                Error::Config(format!(
                    "{} learning-rate runs (stage 0 of plan.jsonl) are not done yet, e.g. \
                     arm '{}' x{}; run them first",
                    missing.len(),
                    missing[0].arm,
                    missing[0].lr_multiplier.unwrap_or(1.0)
                ))
            })?;
            let (alphas, _) = choose_alphas(p, &lr);
            main_plans(p, &alphas)
                .into_iter()
                .find(|r| r.arm == arm && r.seed == seed)
                .ok_or_else(|| Error::Internal("the planned run is missing".into()))?
        }
    };
    perform(&plan, &p.scoring, &p.lock.digest)
}

/// The study from the results in its directory, or the planned runs that have none.
pub fn collect_dir(p: &Prepared) -> Result<std::result::Result<StudyResult, Vec<String>>> {
    let name = |r: &RunPlan| match r.lr_multiplier {
        Some(m) => format!("{} x{m} (learning-rate run, seed {})", r.arm, r.seed),
        None => format!("{} seed {}", r.arm, r.seed),
    };
    let lr = match lr_records(p) {
        Ok(lr) => lr,
        Err(missing) => return Ok(Err(missing.iter().map(name).collect())),
    };
    let (alphas, choices) = choose_alphas(p, &lr);
    let plans = main_plans(p, &alphas);
    let found: Vec<Option<RunRecord>> = plans
        .iter()
        .map(|r| RunRecord::read(&r.dir).filter(|x| x.lock_digest == p.lock.digest))
        .collect();
    let missing: Vec<String> = plans
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(r, _)| name(r))
        .collect();
    if !missing.is_empty() {
        return Ok(Err(missing));
    }
    let records: Vec<RunRecord> = found.into_iter().flatten().collect();
    Ok(Ok(collect(p, &records, choices)))
}

/// A run's record as the study's per-seed row.
fn seed_row(r: &RunRecord, out_rel: &Path) -> SeedRun {
    SeedRun {
        seed: r.seed,
        words_per_sec: r.words_per_sec,
        train_seconds: r.train_seconds,
        failed: r.failed.clone(),
        analogy: r.analogy.clone(),
        similarity: r.similarity.clone(),
        training: r.training.clone(),
        stats_file: r
            .stats_file
            .as_ref()
            .map(|f| out_rel.join(f).display().to_string()),
    }
}

/// The study from its runs' records (arms in order, each arm's seeds in order).
fn collect(p: &Prepared, records: &[RunRecord], lr: Vec<LrChoice>) -> StudyResult {
    let study = &p.lock.study;
    let ns = study.seeds.len();
    let first = records.iter().find(|r| r.failed.is_none());
    let bands = first.map(|r| r.bands.clone()).unwrap_or_default();
    let mut runs = Vec::new();
    let mut by_arm = Vec::new();
    for (a, arm) in study.arms.iter().enumerate() {
        let recs = &records[a * ns..(a + 1) * ns];
        let seeds: Vec<SeedRun> = recs
            .iter()
            .map(|r| {
                let rel = Path::new(RUNS_DIR)
                    .join(&arm.name)
                    .join(format!("seed-{}", r.seed));
                seed_row(r, &rel)
            })
            .collect();
        let summary = summarise(&seeds, bands.len());
        runs.push(RunResult {
            name: arm.name.clone(),
            args: arm.train.join(" "),
            tree_loss: p.configs[a].params.loss == Loss::Hs,
            seeds,
            summary,
        });
        by_arm.push((
            arm.name.clone(),
            recs.iter()
                .map(|r| r.failed.is_none().then_some(r))
                .collect::<Vec<_>>(),
        ));
    }
    let settings = InferenceSettings::default();
    let comparisons = compare_arms(
        &by_arm,
        p.scoring.probes.as_ref(),
        bands.len(),
        &bands,
        &settings,
    );
    let curves = by_arm
        .iter()
        .map(|(name, recs)| super::curves::arm_curve(name, recs))
        .collect();
    let depth_g = by_arm
        .iter()
        .zip(&p.configs)
        .filter(|(_, c)| c.params.loss == Loss::Hs)
        .map(|((name, recs), _)| super::curves::depth_g(name, recs))
        .collect();
    StudyResult {
        grid: study.name.clone(),
        corpus: study.corpus.display().to_string(),
        epochs: study.epochs,
        threads: study.threads,
        seeds: study.seeds.clone(),
        base: study.train.join(" "),
        restrict: study.restrict,
        band_words: first.map(|r| r.band_words.clone()).unwrap_or_default(),
        bands,
        tokens_per_epoch: first.map_or(0, |r| r.tokens_per_epoch),
        machine: p.lock.machine.clone(),
        telemetry: study.stats,
        runs,
        lock: p.lock.clone(),
        lr,
        inference: settings,
        comparisons,
        curves,
        depth_g,
    }
}

/// Retrains arm `arm` with `seed` of the study locked at `lock_path` and writes its
/// vectors to `output`; returns their SHA-256 (word2vec binary) and the study's, when the
/// study has that run.
pub fn replay(
    lock_path: &Path,
    arm: &str,
    seed: u64,
    output: &Path,
    config_for: ConfigFor<'_>,
) -> Result<(String, Option<String>)> {
    let lock = Lock::read(lock_path)?;
    let out = lock_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    lock.verify_inputs(&out)?;
    lock.study.arm(arm)?;
    let a = lock
        .study
        .arms
        .iter()
        .position(|x| x.name == arm)
        .unwrap_or(0);
    let configs = locked_configs(&lock, &out, config_for)?;
    let dir = run_dir(&out, arm, seed);
    let recorded = RunRecord::read(&dir).filter(|r| r.lock_digest == lock.digest);
    let mut cfg = configs[a].clone();
    cfg.params.seed = seed;
    if lock.study.arms[a].lr_match {
        cfg.params.alpha = recorded.as_ref().map(|r| r.alpha).ok_or_else(|| {
            Error::Config(format!(
                "arm '{arm}' matches its learning rate; replay needs the study's result in {}",
                dir.join(RESULT_FILE).display()
            ))
        })?;
    }
    cfg.run.output = Some(output.to_path_buf());
    cfg.run.format = match output.extension().is_some_and(|x| x == "txt") {
        true => crate::config::OutputFormat::Text,
        false => crate::config::OutputFormat::Binary,
    };
    let slot = crate::io::OutputSlot::reserve(output, &[&cfg.corpus.input])?;
    let mut no_op = |_: &crate::train::EpochEnd<'_>| Ok(());
    let mut probes = vec![crate::probe::NoProbe; cfg.run.threads];
    let (trained, _) =
        crate::train::train_with_epochs(&cfg, &crate::train::Silent, &mut probes, &mut no_op)?;
    let sha = super::run::vectors_sha256(&trained)?;
    trained.write_vectors(slot, cfg.run.format)?;
    Ok((sha, recorded.and_then(|r| r.vectors_sha256)))
}
