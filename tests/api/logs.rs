//! What `scim-bridge serve` writes to its log when stderr is a file, as under systemd,
//! Kubernetes or `2> file`: plain lines, no terminal escape codes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

/// Starts `serve` on an SQLite file with stderr in a file, waits for its startup line on
/// stdout, stops it and returns what it logged.
fn startup_log(dir: &Path, extra_args: &[&str]) -> String {
    let config = dir.join("config.toml");
    let db = dir.join("db.sqlite");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://{}?mode=rwc\"\n",
            db.display()
        ),
    )
    .expect("write config");
    let out_path = dir.join("stdout.txt");
    let err_path = dir.join("stderr.txt");
    let config_arg = config.display().to_string();
    let mut child = Command::new(BIN)
        .args(["serve", "--config", &config_arg])
        .args(extra_args)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::from(
            std::fs::File::create(&out_path).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&err_path).expect("stderr file"),
        ))
        .spawn()
        .expect("spawn scim-bridge");
    let start = Instant::now();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    while !read(&out_path).contains("listening on") {
        if start.elapsed() > Duration::from_secs(30) || child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(
        stdout.contains("listening on"),
        "did not start:\n{stdout}\n{stderr}"
    );
    stderr
}

#[test]
fn text_logs_to_a_file_have_no_escape_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = startup_log(dir.path(), &[]);
    let line = log
        .lines()
        .find(|l| l.contains("scim-bridge listening"))
        .unwrap_or_else(|| panic!("no startup line in:\n{log}"));
    assert!(
        line.contains(" INFO ") && line.contains("addr=127.0.0.1:"),
        "{line}"
    );
    assert!(!log.contains('\u{1b}'), "escape codes in:\n{log:?}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = startup_log(dir.path(), &["--log-format", "json"]);
    let startup = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"))
        })
        .find(|v| v["message"] == "scim-bridge listening")
        .unwrap_or_else(|| panic!("no startup line in:\n{log}"));
    assert_eq!(startup["level"], "INFO");
    assert!(
        startup["addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{startup}"
    );
}
