//! Study grids: named training configurations, each a list of `huffvec train` options,
//! compared by `huffvec study`. One built-in grid (`mitigations`), or a TOML or JSON file:
//!
//! ```toml
//! name = "my study"               # optional
//! base = "--dim 50 --window 3"    # optional: options for every configuration
//!
//! [[config]]
//! name = "default"                # the reference the others are compared with
//!
//! [[config]]
//! name = "adagrad"
//! args = "--optimizer adagrad"    # a string split at whitespace, or a list of strings
//! ```
//!
//! The same in JSON: `{"base": "--dim 50", "config": [{"name": "default"},
//! {"name": "adagrad", "args": ["--optimizer", "adagrad"]}]}`. Options that must be equal
//! across a study (corpus, seed, epochs, threads, outputs) are given to `huffvec study`
//! itself and refused inside a grid, as are the telemetry options (the study records
//! telemetry for every run itself).

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Train options a grid may not set: every configuration of a study shares them.
pub const SHARED_OPTIONS: &[&str] = &[
    "--input",
    "-i",
    "--output",
    "-o",
    "--seed",
    "--epochs",
    "--threads",
    "--cache-dir",
    "--save-vocab",
    "--quiet",
    "-q",
    "--stats",
    "--stats-every",
    "--stats-sample",
    "--stats-band-base",
    "--word-stats",
];

/// One configuration: a name and its train options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridEntry {
    /// Short name (letters, digits, `-`, `_`, `.`), unique in the grid.
    pub name: String,
    /// Options added to the grid's base options.
    pub args: Vec<String>,
}

/// A set of configurations to compare; the first is the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudyGrid {
    /// Title of the study.
    pub name: String,
    /// Options for every configuration, before its own.
    pub base: Vec<String>,
    /// The configurations, reference first.
    pub configs: Vec<GridEntry>,
}

/// Options as written in a file: one string split at whitespace, or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum ArgsSpec {
    Line(String),
    List(Vec<String>),
}

impl ArgsSpec {
    fn into_vec(self) -> Vec<String> {
        match self {
            ArgsSpec::Line(s) => s.split_whitespace().map(String::from).collect(),
            ArgsSpec::List(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    name: String,
    args: Option<ArgsSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridSpec {
    name: Option<String>,
    base: Option<ArgsSpec>,
    config: Vec<EntrySpec>,
}

fn entry(name: &str, args: &str) -> GridEntry {
    GridEntry {
        name: name.into(),
        args: args.split_whitespace().map(String::from).collect(),
    }
}

impl StudyGrid {
    /// Names of the built-in grids.
    pub const BUILTIN: &'static [&'static str] = &["mitigations"];

    /// The built-in grid `name`, if there is one.
    pub fn builtin(name: &str) -> Option<StudyGrid> {
        match name {
            "mitigations" => Some(StudyGrid {
                name: "mitigations".into(),
                base: Vec::new(),
                configs: vec![
                    entry("default", ""),
                    entry("tree-balanced", "--tree balanced"),
                    entry("tree-random", "--tree random"),
                    entry("saturation-clamp", "--saturation clamp"),
                    entry("depth-scale-1", "--lr-depth-scale 1"),
                    entry("depth-scale-4", "--lr-depth-scale 4"),
                    entry("adagrad", "--optimizer adagrad"),
                    // AdaGrad normalises each row's step, so word2vec.c's rate is far too
                    // small for it; this row gives it a rate of its usual size.
                    entry("adagrad-a0.2", "--optimizer adagrad --alpha 0.2"),
                    entry("clip-0.05", "--clip-grad 0.05"),
                    entry("l2-1e-4", "--l2 1e-4"),
                    entry("init-xavier", "--init xavier"),
                    entry("init-he", "--init he"),
                    entry("init-zero-out", "--init zero-out"),
                    entry("ns-5", "--loss ns --negative 5"),
                ],
            }),
            _ => None,
        }
    }

    /// A built-in grid by name, or else the grid file at `spec`.
    pub fn resolve(spec: &str) -> Result<StudyGrid> {
        if let Some(g) = StudyGrid::builtin(spec) {
            return Ok(g);
        }
        let path = Path::new(spec);
        if !path.is_file() {
            return Err(Error::Config(format!(
                "--grid {spec}: neither a built-in grid ({}) nor a grid file",
                StudyGrid::BUILTIN.join(", ")
            )));
        }
        StudyGrid::load(path)
    }

    /// Reads a grid file: JSON when it ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<StudyGrid> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read grid file", path, e))?;
        let is_json = path.extension().is_some_and(|x| x == "json");
        let fmt_err = |reason: String| Error::Format {
            path: path.into(),
            at: if is_json { "JSON" } else { "TOML" }.into(),
            reason,
        };
        let spec: GridSpec = if is_json {
            serde_json::from_str(&text).map_err(|e| fmt_err(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| fmt_err(e.to_string().replace('\n', " ")))?
        };
        let grid = StudyGrid {
            name: spec.name.unwrap_or_else(|| {
                path.file_stem()
                    .map_or("grid".into(), |s| s.to_string_lossy().into_owned())
            }),
            base: spec.base.map_or_else(Vec::new, ArgsSpec::into_vec),
            configs: spec
                .config
                .into_iter()
                .map(|e| GridEntry {
                    name: e.name,
                    args: e.args.map_or_else(Vec::new, ArgsSpec::into_vec),
                })
                .collect(),
        };
        grid.check().map_err(fmt_err)?;
        Ok(grid)
    }

    /// Refuses an empty grid, bad or repeated names, and options the study shares.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.configs.is_empty() {
            return Err("a grid needs at least one [[config]]".into());
        }
        let mut seen = std::collections::HashSet::new();
        for e in &self.configs {
            let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
            if e.name.is_empty() || e.name.len() > 64 || !e.name.chars().all(ok_char) {
                return Err(format!(
                    "config name '{}' must be 1-64 letters, digits, '-', '_' or '.'",
                    e.name
                ));
            }
            if !seen.insert(e.name.as_str()) {
                return Err(format!("config name '{}' is used twice", e.name));
            }
        }
        check_args("base", &self.base)?;
        for e in &self.configs {
            check_args(&e.name, &e.args)?;
        }
        Ok(())
    }
}

/// Refuses, in the options of `owner`, any option the whole study shares.
pub fn check_args(owner: &str, args: &[String]) -> std::result::Result<(), String> {
    for a in args {
        let flag = a.split('=').next().unwrap_or(a);
        if SHARED_OPTIONS.contains(&flag) {
            return Err(format!(
                "{owner}: {flag} is shared by the whole study; give it to `huffvec study`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().expect("temp dir");
        let p = d.path().join(name);
        std::fs::write(&p, text).expect("write grid");
        (d, p)
    }

    #[test]
    fn builtin_mitigations_covers_every_knob_against_the_default() {
        let g = StudyGrid::builtin("mitigations").expect("built in");
        assert!(g.check().is_ok());
        assert_eq!(g.configs[0].name, "default");
        assert!(g.configs[0].args.is_empty());
        let all: Vec<&str> = g
            .configs
            .iter()
            .flat_map(|e| e.args.iter().map(String::as_str))
            .collect();
        for knob in [
            "--tree",
            "--saturation",
            "--lr-depth-scale",
            "--optimizer",
            "--clip-grad",
            "--l2",
            "--init",
            "--loss",
        ] {
            assert!(all.contains(&knob), "{knob} missing");
        }
    }

    #[test]
    fn toml_and_json_grids_read_the_same() {
        let (_d1, toml) = write(
            "g.toml",
            "base = \"--dim 20\"\n[[config]]\nname = \"default\"\n\n[[config]]\nname = \"ada\"\nargs = [\"--optimizer\", \"adagrad\"]\n",
        );
        let (_d2, json) = write(
            "g.json",
            r#"{"base": ["--dim", "20"], "config": [{"name": "default"}, {"name": "ada", "args": "--optimizer adagrad"}]}"#,
        );
        let a = StudyGrid::load(&toml).expect("toml grid");
        let b = StudyGrid::load(&json).expect("json grid");
        assert_eq!(a.base, vec!["--dim", "20"]);
        assert_eq!(a.configs, b.configs);
        assert_eq!(a.configs[1].args, vec!["--optimizer", "adagrad"]);
        assert_eq!(a.name, "g");
    }

    #[test]
    fn bad_grids_are_refused_with_the_reason() {
        for (text, why) in [
            ("[[config]]\nname = \"a b\"\n", "must be"),
            (
                "[[config]]\nname = \"a\"\n[[config]]\nname = \"a\"\n",
                "twice",
            ),
            (
                "[[config]]\nname = \"a\"\nargs = \"--epochs 2\"\n",
                "shared",
            ),
            ("base = \"--seed=3\"\n[[config]]\nname = \"a\"\n", "shared"),
            ("config = []\n", "at least one"),
            ("[[config]]\nname = \"a\"\nflags = \"x\"\n", "unknown field"),
            ("[[config\n", "TOML"),
        ] {
            let (_d, p) = write("bad.toml", text);
            let e = StudyGrid::load(&p).expect_err(text).to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        }
        assert!(StudyGrid::resolve("no-such-grid")
            .expect_err("unknown")
            .to_string()
            .contains("mitigations"));
    }
}
