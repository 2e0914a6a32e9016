//! `cargo xtask conformance [--filter PATTERN] [--no-peers]`: the scenario
//! suite against every end, then the interop suites
//! (`conformance/tests/interop_*.rs`: real peers, Wireshark), as one table
//! and one summary line. Exits non-zero when anything failed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::workspace_root;

/// One line of the table.
struct Row {
    result: &'static str,
    end: String,
    case: String,
    details: Vec<String>,
}

struct Options {
    filter: Option<String>,
    peers: bool,
}

fn parse(args: &[&str]) -> Result<Options, String> {
    let mut options = Options {
        filter: None,
        peers: true,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--filter" => {
                let pattern = args.next().ok_or("--filter takes a pattern")?;
                options.filter = Some((*pattern).to_owned());
            }
            "--no-peers" => options.peers = false,
            other => {
                return Err(format!(
                    "unknown argument {other}\nusage: cargo xtask conformance [--filter PATTERN] [--no-peers]"
                ));
            }
        }
    }
    Ok(options)
}

/// Runs a command, echoing nothing, and hands each stdout line to `on_line`.
fn run_lines(command: &mut Command, mut on_line: impl FnMut(&str)) -> Result<bool, String> {
    let mut child = command
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            on_line(&line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {command:?}: {e}"))?;
    Ok(status.success())
}

fn print_row(row: &Row) {
    println!("{:<7} {:<18} {}", row.result, row.end, row.case);
    for detail in &row.details {
        println!("        {detail}");
    }
}

/// The scenario suite: its harness prints `RESULT END SCENARIO` lines and
/// indented details under failures.
fn scenarios(filter: &Option<String>, rows: &mut Vec<Row>) -> Result<(), String> {
    let mut command = Command::new("cargo");
    command.args(["test", "-p", "conformance", "--test", "scenarios", "--"]);
    if let Some(filter) = filter {
        command.args(["--filter", filter]);
    }
    let mut current: Option<Row> = None;
    let success = run_lines(&mut command, |line| {
        let mut parts = line.split_whitespace();
        let result = match parts.next() {
            Some("ok") => Some("ok"),
            Some("FAILED") => Some("FAILED"),
            Some("skip") => Some("skip"),
            _ => None,
        };
        match (result, parts.next(), parts.next()) {
            (Some(result), Some(end), Some(case)) if line.starts_with(result) => {
                if let Some(row) = current.take() {
                    print_row(&row);
                    rows.push(row);
                }
                current = Some(Row {
                    result,
                    end: end.to_owned(),
                    case: case.to_owned(),
                    details: Vec::new(),
                });
            }
            _ if line.starts_with("        ") => {
                if let Some(row) = current.as_mut() {
                    row.details.push(line.trim().to_owned());
                }
            }
            _ => {}
        }
    })?;
    if let Some(row) = current.take() {
        print_row(&row);
        rows.push(row);
    }
    if !success && !rows.iter().any(|r| r.result == "FAILED") {
        let row = Row {
            result: "FAILED",
            end: "(harness)".into(),
            case: "scenarios".into(),
            details: vec!["the scenario suite failed to build or run; see above".into()],
        };
        print_row(&row);
        rows.push(row);
    }
    Ok(())
}

/// The interop suites, one test binary each; libtest prints
/// `test NAME ... ok|FAILED|ignored`.
fn interop(filter: &Option<String>, rows: &mut Vec<Row>) -> Result<(), String> {
    let tests_dir = workspace_root().join("conformance").join("tests");
    let mut suites: Vec<String> = std::fs::read_dir(&tests_dir)
        .map_err(|e| format!("cannot read {}: {e}", tests_dir.display()))?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".rs")?;
            stem.starts_with("interop_").then(|| stem.to_owned())
        })
        .collect();
    suites.sort();
    for suite in suites {
        let mut command = Command::new("cargo");
        command.args(["test", "-p", "conformance", "--test", &suite, "--"]);
        if let Some(filter) = filter {
            command.arg(filter);
        }
        let before = rows.len();
        let success = run_lines(&mut command, |line| {
            let Some(rest) = line.strip_prefix("test ") else {
                return;
            };
            let Some((name, outcome)) = rest.rsplit_once(" ... ") else {
                return;
            };
            let result = match outcome.trim() {
                "ok" => "ok",
                "FAILED" => "FAILED",
                other if other.starts_with("ignored") => "skip",
                _ => return,
            };
            let row = Row {
                result,
                end: suite.trim_start_matches("interop_").to_owned(),
                case: name.to_owned(),
                details: Vec::new(),
            };
            print_row(&row);
            rows.push(row);
        })?;
        let failed_here = rows[before..].iter().any(|r| r.result == "FAILED");
        if !success && !failed_here {
            let row = Row {
                result: "FAILED",
                end: suite.trim_start_matches("interop_").to_owned(),
                case: "(suite)".into(),
                details: vec![format!("cargo test --test {suite} failed; see above")],
            };
            print_row(&row);
            rows.push(row);
        }
    }
    Ok(())
}

/// `cargo xtask conformance`.
pub fn run(args: &[&str]) -> Result<(), String> {
    let options = parse(args)?;
    let mut rows = Vec::new();
    println!("{:<7} {:<18} case", "result", "end");
    scenarios(&options.filter, &mut rows)?;
    if options.peers {
        interop(&options.filter, &mut rows)?;
    }
    let passed = rows.iter().filter(|r| r.result == "ok").count();
    let failed: Vec<&Row> = rows.iter().filter(|r| r.result == "FAILED").collect();
    let skipped = rows.iter().filter(|r| r.result == "skip").count();
    if !failed.is_empty() {
        println!("\nfailed:");
        for row in &failed {
            println!("  {} {}", row.end, row.case);
        }
    }
    println!(
        "conformance: {passed} passed, {} failed{}{}",
        failed.len(),
        if skipped > 0 {
            format!(", {skipped} skipped")
        } else {
            String::new()
        },
        if options.peers {
            ""
        } else {
            " (interop suites not run: --no-peers)"
        }
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} conformance runs failed", failed.len()))
    }
}
