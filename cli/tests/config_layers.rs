//! The configuration layers as a user meets them: the real binary with a
//! file, environment variables and flags. Each case is refused by
//! validation, whose message says which layer's value won.

// Test code: expect is fine here.
#![allow(clippy::expect_used)]

use std::process::Command;

/// Runs `tracehouse serve` with `env` and `args`, expecting it to refuse to start; returns stderr.
fn refused(env: &[(&str, &str)], args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracehouse"));
    command.arg("serve").args(args);
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("TRACEHOUSE_")) {
        command.env_remove(key);
    }
    let output = command.envs(env.iter().copied()).output().expect("runs");
    assert!(!output.status.success(), "started: {args:?} {env:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn environment_beats_file_and_flag_beats_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tracehouse.toml");
    std::fs::write(&file, "retention_days = 3\nbatch_max_rows = 0\n").expect("write");
    let file = file.to_str().expect("utf-8 path");

    // The file alone: its batch_max_rows = 0 is refused.
    let stderr = refused(&[], &["--config", file]);
    assert!(
        stderr.contains("batch_max_rows: must be at least 1"),
        "{stderr}"
    );

    // The environment fixes the file's value and breaks another one.
    let stderr = refused(
        &[
            ("TRACEHOUSE_BATCH_MAX_ROWS", "10"),
            ("TRACEHOUSE_RETENTION_DAYS", "0"),
        ],
        &["--config", file],
    );
    assert!(
        stderr.contains("retention_days: must be at least 1"),
        "{stderr}"
    );

    // A flag beats the environment; TRACEHOUSE_CONFIG names the file.
    let stderr = refused(
        &[
            ("TRACEHOUSE_CONFIG", file),
            ("TRACEHOUSE_BATCH_MAX_ROWS", "10"),
            ("TRACEHOUSE_RETENTION_DAYS", "0"),
        ],
        &["--retention-days", "2", "--chain-max-spans", "0"],
    );
    assert!(
        stderr.contains("chain_max_spans: must be at least 1"),
        "{stderr}"
    );
}

#[test]
fn a_bad_file_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tracehouse.toml");
    std::fs::write(&file, "retention_dayz = 3\n").expect("write");
    let stderr = refused(&[], &["--config", file.to_str().expect("utf-8 path")]);
    assert!(stderr.contains("retention_dayz"), "{stderr}");
    assert!(stderr.contains("tracehouse.toml"), "{stderr}");

    let missing = dir.path().join("missing.toml");
    let stderr = refused(&[], &["--config", missing.to_str().expect("utf-8 path")]);
    assert!(stderr.contains("cannot read config file"), "{stderr}");
}

#[test]
fn an_environment_value_that_does_not_parse_names_the_variable() {
    let stderr = refused(&[("TRACEHOUSE_RETENTION_DAYS", "seven")], &[]);
    assert!(stderr.contains("retention-days"), "{stderr}");
}
