//! Shared helpers of the end-to-end tests: run the real `rl4seg` binary in a temporary
//! directory with its own cache, find the run directory it reports, count executed nodes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_rl4seg");

pub fn rl4seg(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env("RL4SEG_CACHE", dir.join("cache"))
        .env("RUST_LOG", "info")
        .env_remove("RL4SEG_CONFIG_PATH");
    c
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    rl4seg(dir).args(args).output().expect("the binary starts")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A user error: exit code 2 and one message on stderr, no panic or backtrace.
pub fn user_error(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{}\nstderr:\n{err}",
        text(&out.stdout)
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    err
}

/// The run directory a single run reported on stderr.
pub fn run_dir(dir: &Path, out: &Output) -> PathBuf {
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("run directory: "))
        .unwrap_or_else(|| panic!("no run directory in:\n{err}"));
    dir.join(line.trim())
}

/// Node ids executed (not cached) according to a run log.
pub fn executed(run_log: &Path) -> Vec<String> {
    let log =
        std::fs::read_to_string(run_log).unwrap_or_else(|e| panic!("{}: {e}", run_log.display()));
    log.lines()
        .filter_map(|l| l.split("▶ ").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect()
}
