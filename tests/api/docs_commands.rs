//! Every command in README.md and docs/*.md is exercised, so none rots: each `scim-bridge …`
//! or `cargo run … -- …` line of a shell code block must parse with the real CLI (run with
//! `--help` appended: clap exits 0 for a valid command path and fails on an unknown
//! subcommand, flag or value), and a few safe ones run end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{BIN, spawn_to_files};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Fenced code blocks of a Markdown text: (info string, first line number, lines).
fn code_blocks(text: &str) -> Vec<(String, usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if let Some(info) = t.strip_prefix("```") {
            match current.take() {
                Some(block) => out.push(block),
                None => current = Some((info.trim().to_string(), i + 2, Vec::new())),
            }
        } else if let Some((_, _, lines)) = current.as_mut() {
            lines.push(t.to_string());
        }
    }
    out
}

/// Shell-like words: single and double quotes, stops at an unquoted `#`.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                has = true;
            }
            (None, '#') if !has => break,
            (None, c) if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            (None, c) => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

/// The scim-bridge arguments of a command line, when it runs scim-bridge.
fn cli_args(line: &str) -> Option<Vec<String>> {
    let mut w = words(line);
    if w.first().is_some_and(|s| s == "$") {
        w.remove(0);
    }
    // Leading `NAME=value` environment assignments.
    while w.first().is_some_and(|s| {
        s.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
    }) {
        w.remove(0);
    }
    match w.first().map(String::as_str) {
        Some("scim-bridge") => Some(w[1..].to_vec()),
        Some("cargo") if w.get(1).is_some_and(|s| s == "run") => {
            let dash = w.iter().position(|s| s == "--")?;
            Some(w[dash + 1..].to_vec())
        }
        _ => None,
    }
}

/// Every scim-bridge command in the docs' shell blocks: (file:line, args).
fn doc_commands() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).expect("read doc");
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        for (info, start, lines) in code_blocks(&text) {
            if !matches!(info.as_str(), "" | "sh" | "bash" | "shell" | "console") {
                continue;
            }
            let mut joined = String::new();
            for (i, line) in lines.iter().enumerate() {
                if let Some(head) = line.strip_suffix('\\') {
                    joined.push_str(head);
                    joined.push(' ');
                    continue;
                }
                joined.push_str(line);
                if let Some(args) = cli_args(&joined) {
                    out.push((format!("{name}:{}", start + i), args));
                }
                joined.clear();
            }
        }
    }
    out
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run scim-bridge")
}

#[test]
fn every_documented_command_parses() {
    let cmds = doc_commands();
    let shown: Vec<String> = cmds.iter().map(|(_, a)| a.join(" ")).collect();
    for must in ["demo", "demo --scenario", "serve --config scim-bridge.toml"] {
        assert!(
            shown.iter().any(|s| s == must),
            "README should document `{must}`; found {shown:#?}"
        );
    }
    assert!(cmds.len() >= 10, "too few commands found: {shown:#?}");
    // The method itself: `--help` after a wrong subcommand or flag must fail.
    for wrong in [
        &["mappings", "lst", "--help"][..],
        &["demo", "--bogus", "--help"],
    ] {
        assert!(!run(wrong).status.success(), "{wrong:?} should fail");
    }
    let mut failures = Vec::new();
    for (at, args) in &cmds {
        let mut a = args.clone();
        a.push("--help".into());
        let out = Command::new(BIN)
            .args(&a)
            .output()
            .expect("run scim-bridge");
        if !out.status.success() {
            failures.push(format!(
                "{at}: `scim-bridge {}` does not parse:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn token_create_prints_a_token_and_its_config_line() {
    let out = run(&["token", "create", "--target", "x"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sb_"), "{text}");
    assert!(
        text.contains("config line under [targets.x]: token_sha256 = [\""),
        "{text}"
    );
}

#[test]
fn readme_config_example_passes_config_check() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let (_, _, lines) = code_blocks(&text)
        .into_iter()
        .find(|(info, _, _)| info == "toml")
        .expect("README has a ```toml config example");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("scim-bridge.toml");
    std::fs::write(&file, lines.join("\n")).expect("write config");
    let out = run(&["config", "check", "--config", &file.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (3 target(s))"));
}

/// Runs scim-bridge with stdout in a file (no pipe to fill), killed after `limit`.
fn run_bounded(args: &[&str], dir: &Path, limit: Duration) -> (bool, String, String) {
    let (mut child, out_path, err_path) = spawn_to_files(Command::new(BIN).args(args), dir);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(
        status.is_some(),
        "timed out after {limit:?}:\n{stdout}\n{stderr}"
    );
    (status.is_some_and(|s| s.success()), stdout, stderr)
}

#[test]
fn demo_scenario_tells_the_whole_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let args = [
        "demo",
        "--scenario",
        "--exit-after-scenario",
        "--data-dir",
        &data_arg,
        "--listen",
        "127.0.0.1:0",
    ];
    let (ok, out, err) = run_bounded(&args, dir.path(), Duration::from_secs(60));
    assert!(ok, "demo failed:\n{out}\n{err}");
    for expected in [
        "/scim/v2/contrast",
        "/admin/v1/mappings",
        "curl -s",
        // Contrast: invitations, and the group as a whole-list PUT.
        "invitation=Pending",
        "synced: invitation sent",
        "/groups/g-1/users",
        "Developers) members: ada@example.com, grace@example.com",
        // Carbon Black: keys revoked, then the user deleted.
        "deprovisioned: revoked 2 API keys",
        "DELETE /appservices/v6/orgs/ABCD1234/users/",
        // Abnormal: the risk attributes on the SCIM user.
        "urn:scim-bridge:schemas:extension:abnormal:2.0:User",
        "\"riskLevel\"",
        "Summary: 3 Contrast invitation(s) pending, 2 member(s)",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert!(
        data.join("scim-bridge-demo.db").exists(),
        "--data-dir is used"
    );
}

#[test]
fn demo_errors_say_what_to_do_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A data directory that cannot be created: a path under a regular file.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let bad = blocker.join("data").display().to_string();
    let out = run(&["demo", "--data-dir", &bad]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--data-dir"), "{err}");

    // An explicit address that is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let data = dir.path().join("d").display().to_string();
    let out = run(&["demo", "--listen", &addr, "--data-dir", &data]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already in use") && err.contains("--listen"),
        "{err}"
    );
}

/// The `curl` commands the demo prints, joined across `\` continuations.
fn printed_curls(banner: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in banner.lines().map(str::trim) {
        if cur.is_empty() && !line.starts_with("curl ") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(line);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    out
}

#[test]
fn the_printed_curl_commands_work() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl is not installed: skipping the printed-curl check");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("stdout.txt");
    let data = dir.path().join("data").display().to_string();
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir", &data])
        .stdout(Stdio::from(std::fs::File::create(&out_path).expect("file")))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let start = Instant::now();
    let banner = loop {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        if text.contains("Serving until ctrl-c") || start.elapsed() > Duration::from_secs(20) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let curls = printed_curls(&banner);
    let mut results = Vec::new();
    for c in &curls {
        let r = Command::new("sh").args(["-c", &format!("{c} -f")]).output();
        results.push((c.clone(), r));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(curls.len() >= 5, "curl commands in:\n{banner}");
    for (c, r) in results {
        let r = r.expect("run sh");
        let body = String::from_utf8_lossy(&r.stdout);
        assert!(r.status.success(), "`{c}` failed: {body}");
        assert!(body.starts_with('{'), "`{c}` answered {body}");
        if c.contains("person7@example.com") {
            assert!(body.contains("\"riskLevel\""), "Abnormal data: {body}");
        }
    }
}
