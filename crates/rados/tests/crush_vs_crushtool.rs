#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The CRUSH decoder and mapper against Ceph's own `crushtool` as the
//! oracle.
//!
//! Maps: the fixtures in `tests/fixtures/crush/` (every bucket algorithm,
//! every rule step, legacy tunables, device classes, choose_args, the test
//! bed's map) and every `CrushWrapper` sample of the object corpus (found
//! through `CEPH_OBJECT_CORPUS`; without it only the fixtures are used).
//! Each map must decode with nothing left over; then for every rule, for
//! num-rep 1, 2, 3 and the rule's `max_size` (when it is at most 10), and
//! for x in 0..=1023, our mapping must equal the line `crushtool -i MAP
//! --test --show-mappings` prints (crushtool prints nothing for a map
//! without devices: then we must place nothing). A few runs also set device
//! weights (`--weight`) and a pool id (`--pool-id`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use ceph_encoding::Decode;
use ceph_rados::crush::{hash, CrushMap};

const MAX_X: i32 = 1023;

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn crushtool_present() {
    let ok = rbd_native_tests::tool("crushtool")
        .arg("--help")
        .output()
        .map(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
        .unwrap_or(false);
    assert!(
        ok,
        "crushtool is not installed (it comes with ceph-common): run `make deps`"
    );
}

fn fixture_maps() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crush");
    let mut maps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    maps.sort();
    assert!(!maps.is_empty(), "no fixtures in {}", dir.display());
    maps
}

fn corpus_maps() -> Vec<PathBuf> {
    let Some(root) = std::env::var_os("CEPH_OBJECT_CORPUS") else {
        say("crush vs crushtool: CEPH_OBJECT_CORPUS is not set; corpus samples SKIPPED");
        return Vec::new();
    };
    let archive = Path::new(&root).join("archive");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&archive)
        .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    versions.sort();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for v in versions {
        let dir = v.join("objects/CrushWrapper");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            if seen.insert(bytes) {
                out.push(f);
            }
        }
    }
    out
}

/// One crushtool run over every rule of `map`: the mapping lines, by rule.
fn crushtool_mappings(map: &Path, num_rep: usize, extra: &[String]) -> BTreeMap<u32, Vec<String>> {
    let out = rbd_native_tests::tool("crushtool")
        .arg("-i")
        .arg(map)
        .args(["--test", "--show-mappings", "--num-rep"])
        .arg(num_rep.to_string())
        .args(["--min-x", "0", "--max-x"])
        .arg(MAX_X.to_string())
        .args(extra)
        .output()
        .expect("running crushtool");
    assert!(
        out.status.success(),
        "crushtool failed on {}: {}",
        map.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut by_rule: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(rest) = line.strip_prefix("CRUSH rule ") else {
            continue;
        };
        let rule = rest
            .split(' ')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("unexpected crushtool line {line:?}"));
        by_rule.entry(rule).or_default().push(line.to_owned());
    }
    by_rule
}

/// `file` for a fixture, `version/file` for a corpus sample.
fn short_name(path: &Path) -> String {
    let parts: Vec<String> = path
        .iter()
        .rev()
        .take(4)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [file, kind, _, version] if kind == "CrushWrapper" => format!("{version}/{file}"),
        [file, ..] => file.clone(),
        [] => String::new(),
    }
}

fn format_line(rule: u32, x: i32, items: &[i32]) -> String {
    let list: Vec<String> = items.iter().map(i32::to_string).collect();
    format!("CRUSH rule {rule} x {x} [{}]", list.join(","))
}

/// A finished map check: job index, (rules, crushtool runs, mappings),
/// problems found.
type JobResult = (usize, (usize, usize, usize), Vec<String>);

/// A variant of the default run: device weights and a pool id.
struct Variant {
    weights: Vec<(usize, f32)>,
    pool: Option<u32>,
}

impl Variant {
    fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        for (dev, w) in &self.weights {
            a.extend(["--weight".to_owned(), dev.to_string(), w.to_string()]);
        }
        if let Some(p) = self.pool {
            a.extend(["--pool-id".to_owned(), p.to_string()]);
        }
        a
    }
}

/// Compares every mapping of `map`; returns (rules, crushtool runs, x values).
fn check_map(
    path: &Path,
    variants: &[Variant],
    failures: &mut Vec<String>,
) -> (usize, usize, usize) {
    let bytes = std::fs::read(path).unwrap();
    let map = match CrushMap::decode_exact(&bytes) {
        Ok(m) => m,
        Err(e) => {
            failures.push(format!("{}: does not decode: {e}", path.display()));
            return (0, 0, 0);
        }
    };
    let rules: Vec<(u32, u8)> = map
        .rules
        .iter()
        .enumerate()
        .filter_map(|(id, r)| r.as_ref().map(|r| (id as u32, r.max_size)))
        .collect();
    let mut reps: BTreeSet<usize> = [1, 2, 3].into();
    reps.extend(
        rules
            .iter()
            .filter(|(_, max)| *max <= 10)
            .map(|(_, max)| usize::from(*max)),
    );
    let (mut runs, mut xs) = (0, 0);
    for variant in variants {
        let mut weights = map.default_device_weights();
        for (dev, w) in &variant.weights {
            if let Some(slot) = weights.get_mut(*dev) {
                *slot = ((*w * 65536.0) as u32).min(0x10000);
            }
        }
        for &n in &reps {
            let mut expected = crushtool_mappings(path, n, &variant.args());
            runs += 1;
            for &(rule_id, _) in &rules {
                let lines = expected.remove(&rule_id).unwrap_or_default();
                if lines.is_empty() && map.max_devices() == 0 {
                    // crushtool prints nothing for a map without devices;
                    // we must place nothing either.
                    for x in 0..=MAX_X {
                        let got = map.do_rule(rule_id, x, n, &weights, None);
                        if !got.is_empty() {
                            failures.push(format!(
                                "{} rule {rule_id} x {x}: no devices, yet we map to {got:?}",
                                path.display()
                            ));
                        }
                    }
                    continue;
                }
                if lines.len() != (MAX_X + 1) as usize {
                    failures.push(format!(
                        "{} rule {rule_id} num-rep {n}: crushtool printed {} lines",
                        path.display(),
                        lines.len()
                    ));
                    continue;
                }
                let mut differ = 0usize;
                let mut first = None;
                for (x, want) in (0..=MAX_X).zip(&lines) {
                    let input = match variant.pool {
                        Some(p) => hash::hash32_2(hash::HASH_RJENKINS1, x as u32, p) as i32,
                        None => x,
                    };
                    // crushtool --test always asks for choose_args 0 (falling
                    // back to the compat set, -1), whatever the pool id.
                    let got = map.do_rule(
                        rule_id,
                        input,
                        n,
                        &weights,
                        map.choose_args_with_fallback(0),
                    );
                    let got = format_line(rule_id, x, &got);
                    xs += 1;
                    if &got != want {
                        differ += 1;
                        first.get_or_insert_with(|| (want.clone(), got));
                    }
                }
                if let Some((want, got)) = first {
                    failures.push(format!(
                        "{} {:?} rule {rule_id} num-rep {n}: {differ} of {} differ, \
                         first:\n  crushtool: {want}\n  ours:      {got}",
                        path.display(),
                        variant.args(),
                        lines.len()
                    ));
                }
            }
            if let Some(extra) = expected.keys().next() {
                failures.push(format!(
                    "{}: crushtool mapped rule {extra}, which we do not have",
                    path.display()
                ));
            }
        }
    }
    (rules.len(), runs, xs)
}

#[test]
fn mappings_equal_crushtool() {
    crushtool_present();
    let plain = [Variant {
        weights: vec![],
        pool: None,
    }];
    let with_variants = [
        Variant {
            weights: vec![],
            pool: None,
        },
        Variant {
            weights: vec![(1, 0.5), (4, 0.0), (5, 0.25), (13, 0.75), (18, 0.0)],
            pool: None,
        },
        Variant {
            weights: vec![],
            pool: Some(7),
        },
    ];
    // (label, path, variants) for every map; checked on all cores.
    let mut jobs: Vec<(&str, PathBuf, &[Variant])> = Vec::new();
    jobs.extend(
        fixture_maps()
            .into_iter()
            .map(|p| ("fixture", p, &with_variants[..])),
    );
    jobs.extend(corpus_maps().into_iter().map(|p| ("corpus", p, &plain[..])));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<JobResult> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((_, path, variants)) = jobs.get(i) else {
                            break;
                        };
                        let mut failures = Vec::new();
                        let counts = check_map(path, variants, &mut failures);
                        done.push((i, counts, failures));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker panicked"))
            .collect()
    });
    results.sort_by_key(|r| r.0);
    let mut failures = Vec::new();
    let mut totals = (0, 0, 0, 0);
    for (i, counts, fails) in results {
        let (label, path, _) = &jobs[i];
        say(&format!(
            "{label:<8} {:<58} rules {:>2} crushtool runs {:>3} mappings {:>6}",
            short_name(path),
            counts.0,
            counts.1,
            counts.2
        ));
        totals.0 += 1;
        totals.1 += counts.0;
        totals.2 += counts.1;
        totals.3 += counts.2;
        failures.extend(fails);
    }
    say(&format!(
        "crush vs crushtool: {} maps, {} rules, {} crushtool runs, {} mappings compared, {} problems",
        totals.0,
        totals.1,
        totals.2,
        totals.3,
        failures.len()
    ));
    for f in failures.iter().take(60) {
        say(f);
    }
    assert!(failures.is_empty(), "{} problems", failures.len());
}

/// Needs no crushtool: every fixture and corpus sample decodes with nothing
/// left over, and re-encodes to the very same bytes.
#[test]
fn maps_decode_exactly_and_reencode_identically() {
    use ceph_encoding::Encode;
    let mut maps = fixture_maps();
    maps.extend(corpus_maps());
    let mut identical = 0;
    for path in &maps {
        let bytes = std::fs::read(path).unwrap();
        let map =
            CrushMap::decode_exact(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let again = map.to_bytes(0);
        assert_eq!(
            again[..],
            bytes[..],
            "{}: re-encoding differs",
            path.display()
        );
        identical += 1;
    }
    say(&format!(
        "crush decode: {} maps decode exactly, {identical} re-encode identically",
        maps.len()
    ));
}
