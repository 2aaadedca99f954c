//! A benchmark's report: its measures (see [`crate::method`]) and the
//! issue's goals with "met"/"not met" from the figures of the run, printed
//! as Markdown and written to `<out>/<name>.json` and `<out>/<name>.md`;
//! then `<out>/results.json` and `<out>/results.md` are rebuilt from every
//! benchmark's files there (`cargo bench` runs each benchmark as a
//! process of its own). `<out>`: `BENCH_OUT`, else `target/bench` of the
//! workspace (`CARGO_TARGET_DIR`'s when set).

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::method::{rounds, Measure, Sample, Side, Summary};

/// A goal of the issue and whether the run met it.
#[derive(Debug, Clone)]
pub struct Goal {
    /// The goal.
    pub goal: String,
    /// The figure it is judged by.
    pub figure: String,
    /// Met, not met, or not measured.
    pub met: Option<bool>,
}

/// One benchmark's report.
#[derive(Debug, Clone)]
pub struct Report {
    /// File stem (the benchmark's name).
    pub name: String,
    /// Title of its section.
    pub title: String,
    /// What the reference side is.
    pub reference: String,
    /// Notes printed under the title (settings, caveats).
    pub notes: Vec<String>,
    /// The measures, in the order first recorded.
    pub measures: Vec<Measure>,
    /// The goals.
    pub goals: Vec<Goal>,
}

/// The directory the reports go to.
pub fn out_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BENCH_OUT") {
        return PathBuf::from(d);
    }
    crate::target_dir().join("bench")
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

fn mib(v: Option<u64>) -> String {
    v.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

impl Report {
    /// An empty report.
    pub fn new(name: &str, title: &str, reference: &str) -> Report {
        Report {
            name: name.into(),
            title: title.into(),
            reference: reference.into(),
            notes: vec![format!(
                "Ours and the reference alternate round by round, who goes first alternating too (ROUNDS = {}; the rounds column gives each measure's).",
                rounds()
            )],
            measures: Vec::new(),
            goals: Vec::new(),
        }
    }

    /// Adds a note.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Records one side's sample of a measure (created on first use).
    pub fn record(
        &mut self,
        name: &str,
        unit: &str,
        higher_is_better: bool,
        side: Side,
        s: Sample,
    ) {
        let i = match self.measures.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => {
                self.measures.push(Measure {
                    name: name.into(),
                    unit: unit.into(),
                    higher_is_better,
                    ours: Vec::new(),
                    theirs: Vec::new(),
                });
                self.measures.len() - 1
            }
        };
        let m = &mut self.measures[i];
        match side {
            Side::Ours => m.ours.push(s),
            Side::Reference => m.theirs.push(s),
        }
    }

    /// The summary of a measure.
    pub fn summary(&self, name: &str) -> Option<Summary> {
        self.measures
            .iter()
            .find(|m| m.name == name)
            .map(Measure::summary)
    }

    /// Adds a goal.
    pub fn goal(&mut self, goal: impl Into<String>, figure: impl Into<String>, met: Option<bool>) {
        self.goals.push(Goal {
            goal: goal.into(),
            figure: figure.into(),
            met,
        });
    }

    /// The goal "median ratio ≥ `at_least`" for a measure.
    pub fn ratio_goal(&mut self, name: &str, at_least: f64) {
        let s = self.summary(name).unwrap_or_default();
        let figure = match (s.ratio, s.ratio_range) {
            (Some(r), Some((lo, hi))) => format!("{r:.3} ({lo:.2}–{hi:.2})"),
            _ => "not measured".into(),
        };
        self.goal(
            format!("{name}: median ratio ≥ {at_least:.1}"),
            figure,
            s.ratio.map(|r| r >= at_least),
        );
    }

    /// The goal "our CPU per op ≤ `at_most` × the reference's" for a measure.
    pub fn cpu_goal(&mut self, name: &str, at_most: f64) {
        let s = self.summary(name).unwrap_or_default();
        let figure = match s.cpu_ratio {
            Some(r) => format!(
                "{r:.3} ({} vs {} CPU s per 1000 ops)",
                opt(s.cpu_per_kop.0, 3),
                opt(s.cpu_per_kop.1, 3)
            ),
            None => "not measured".into(),
        };
        self.goal(
            format!("{name}: our CPU per op ≤ {at_most} × the reference's"),
            figure,
            s.cpu_ratio.map(|r| r <= at_most),
        );
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        let measures: Vec<Value> = self
            .measures
            .iter()
            .map(|m| {
                let s = m.summary();
                let side = |v: &[Sample]| -> Vec<Value> {
                    v.iter()
                        .map(|x| {
                            json!({
                                "value": x.value, "ops": x.ops, "bytes": x.bytes,
                                "wall_s": x.usage.map(|u| u.wall),
                                "user_s": x.usage.map(|u| u.user),
                                "sys_s": x.usage.map(|u| u.sys),
                                "peak_rss_kib": x.usage.map(|u| u.peak_rss_kib),
                            })
                        })
                        .collect()
                };
                json!({
                    "measure": m.name, "unit": m.unit, "higher_is_better": m.higher_is_better,
                    "rounds": s.rounds,
                    "ours_median": s.ours, "reference_median": s.theirs,
                    "median_ratio": s.ratio,
                    "ratio_min": s.ratio_range.map(|r| r.0), "ratio_max": s.ratio_range.map(|r| r.1),
                    "cpu_s_per_gib": {"ours": s.cpu_per_gib.0, "reference": s.cpu_per_gib.1},
                    "cpu_s_per_1000_ops": {"ours": s.cpu_per_kop.0, "reference": s.cpu_per_kop.1},
                    "cpu_per_op_ratio": s.cpu_ratio,
                    "peak_rss_kib": {"ours": s.peak_rss_kib.0, "reference": s.peak_rss_kib.1},
                    "wall_s_median": {"ours": s.wall.0, "reference": s.wall.1},
                    "ours": side(&m.ours), "reference": side(&m.theirs),
                })
            })
            .collect();
        let goals: Vec<Value> = self
            .goals
            .iter()
            .map(|g| json!({"goal": g.goal, "figure": g.figure, "met": g.met}))
            .collect();
        json!({
            "name": self.name, "title": self.title, "reference": self.reference,
            "notes": self.notes, "measures": measures, "goals": goals,
        })
    }

    /// The report as Markdown: one table of measures, one of goals.
    pub fn markdown(&self) -> String {
        let mut md = format!("## {}\n\n", self.title);
        for n in &self.notes {
            let _ = writeln!(md, "- {n}");
        }
        let _ = write!(
            md,
            "\nRatio: above 1 means rbd-native did better (ours/ref for rates, ref/ours for times). \
             CPU: user+sys of each side's own process.\n\n\
             | measure | rounds | rbd-native (median) | {r} (median) | median ratio | ratio range | \
             CPU s/GiB ours / ref | CPU s/1000 ops ours / ref | CPU per op ours/ref | \
             peak RSS MiB ours / ref |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            r = self.reference
        );
        for m in &self.measures {
            let s = m.summary();
            let _ = writeln!(
                md,
                "| {} | {} | {} {u} | {} {u} | {} | {} | {} / {} | {} / {} | {} | {} / {} |",
                m.name,
                s.rounds,
                opt(s.ours, 2),
                opt(s.theirs, 2),
                opt(s.ratio, 2),
                s.ratio_range
                    .map_or("–".into(), |(lo, hi)| format!("{lo:.2}–{hi:.2}")),
                opt(s.cpu_per_gib.0, 2),
                opt(s.cpu_per_gib.1, 2),
                opt(s.cpu_per_kop.0, 3),
                opt(s.cpu_per_kop.1, 3),
                opt(s.cpu_ratio, 2),
                mib(s.peak_rss_kib.0),
                mib(s.peak_rss_kib.1),
                u = m.unit,
            );
        }
        if !self.goals.is_empty() {
            md.push_str("\n| goal | figure | |\n|---|---|---|\n");
            for g in &self.goals {
                let met = match g.met {
                    Some(true) => "met",
                    Some(false) => "not met",
                    None => "not measured",
                };
                let _ = writeln!(md, "| {} | {} | {met} |", g.goal, g.figure);
            }
        }
        md
    }

    /// Prints the Markdown and writes the files (see the module's doc).
    pub fn write(&self) {
        let md = self.markdown();
        println!("\n{md}");
        let dir = out_dir();
        std::fs::create_dir_all(&dir).expect("create the bench output directory");
        let json = serde_json::to_string_pretty(&self.json()).expect("report as JSON");
        std::fs::write(dir.join(format!("{}.json", self.name)), json)
            .expect("write the JSON report");
        std::fs::write(dir.join(format!("{}.md", self.name)), &md)
            .expect("write the Markdown report");
        combine(&dir);
        println!("reports: {}", dir.display());
    }
}

/// Rebuilds `results.json` and `results.md` from the benchmarks' files.
pub fn combine(dir: &std::path::Path) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
                .filter(|n| n != "results")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut all = serde_json::Map::new();
    let mut md = String::from("# rbd-native benchmarks\n\n");
    for n in &names {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{n}.json"))) else {
            continue;
        };
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            all.insert(n.clone(), v);
        }
        if let Ok(section) = std::fs::read_to_string(dir.join(format!("{n}.md"))) {
            md.push_str(&section);
            md.push('\n');
        }
    }
    let _ = std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&json!({ "benchmarks": all })).unwrap_or_default(),
    );
    let _ = std::fs::write(dir.join("results.md"), md);
}
