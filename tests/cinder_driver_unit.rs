//! The unit tests of the Cinder volume driver (`cinder-driver/tests/`,
//! Python, on Cinder 29's own test helpers), run with the bed's venv Python:
//! the Cinder and the Python that the bed's volume service runs the driver
//! with (Debian's 3.11 for Pacific, the root's for the other releases).
//!
//! They need no cluster: the rados/rbd modules and the tool are stand-ins
//! (a mock of `subprocess.Popen`, or a script in the tool's place), but for
//! one, which gives the real tool (`RBD_NATIVE_BIN`, else the workspace's
//! build next to this test's executable) the driver's command lines: they
//! must parse. A failure shows unittest's output.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The number of tests that `unittest` says it ran, from its summary line
/// (`Ran 21 tests in 3.5s`).
fn tests_ran(output: &str) -> Option<u32> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("Ran "))
        .filter_map(|rest| rest.split_whitespace().next())
        .find_map(|n| n.parse().ok())
}

/// `output` without Python's warnings (Cinder's deprecations, each with
/// the source line that follows it), which Cinder's test base class turns
/// on whatever `PYTHONWARNINGS` says.
fn without_warnings(output: &str) -> String {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for line in output.lines() {
        if skip_next {
            skip_next = false;
            if line.starts_with("  ") && !line.starts_with("  File ") {
                continue;
            }
        }
        if line.contains("Warning: ") {
            skip_next = true;
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// The tool for the command-line test: `RBD_NATIVE_BIN`, else the
/// workspace's build in this test's target folder (`cargo test --workspace`
/// builds it), else none (that test is then skipped).
fn tool_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RBD_NATIVE_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/cinder_driver_unit-<hash>
    let built = exe.parent()?.parent()?.join("rbd-native");
    built.is_file().then_some(built)
}

#[test]
fn cinder_driver_unit_tests_pass_on_the_venvs_cinder() {
    let python = rbd_native_tests::venv_python();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cinder-driver");
    let mut cmd = Command::new(&python);
    // From the package's folder, so that its source (not a copy installed
    // in the venv) is what is tested.
    cmd.args(["-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."])
        .current_dir(&dir)
        .env("PYTHONWARNINGS", "ignore")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH");
    let bin = tool_binary();
    match &bin {
        Some(bin) => {
            cmd.env("RBD_NATIVE_BIN", bin);
        }
        None => {
            eprintln!("no rbd-native build: the command-line test is skipped (set RBD_NATIVE_BIN)");
            cmd.env_remove("RBD_NATIVE_BIN");
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for module in ["cinder", "fixtures", "testtools"] {
        assert!(
            !stderr.contains(&format!("No module named '{module}'")),
            "the venv of {} has no `{module}`: run `make venv` (PY_PACKAGES installs Cinder 29 \
             and its test helpers)\n{stderr}",
            python.display()
        );
    }
    assert!(
        out.status.success(),
        "cinder-driver's unit tests failed ({}, `{cmd:?}` in {}):\n{stdout}\n{}",
        out.status,
        dir.display(),
        without_warnings(&stderr)
    );
    if let Some(bin) = &bin {
        assert!(
            !stderr.contains("RBD_NATIVE_BIN is not set"),
            "the command-line test was skipped although {} was given:\n{}",
            bin.display(),
            without_warnings(&stderr)
        );
    }
    let ran = tests_ran(&stderr).unwrap_or(0);
    assert!(
        ran > 0,
        "unittest found no test in {}:\n{stderr}",
        dir.display()
    );
}

#[test]
fn warnings_are_left_out_of_the_output() {
    let out = "x.py:3: DeprecationWarning: old\n  attachments = f(\n.F\n  File \"t.py\"\nFAIL";
    assert_eq!(without_warnings(out), ".F\n  File \"t.py\"\nFAIL");
}

#[test]
fn the_summary_line_gives_the_count() {
    assert_eq!(tests_ran("...\nRan 21 tests in 3.529s\n\nOK\n"), Some(21));
    assert_eq!(tests_ran("Ran 1 test in 0.1s"), Some(1));
    assert_eq!(tests_ran("nothing"), None);
}
