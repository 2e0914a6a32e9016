//! Replays every scenario under `conformance/scenarios` against every end
//! it applies to, checks its expectations and its snapshot, and prints one
//! line per run and a summary. A custom harness (`harness = false`), so one
//! table covers a suite whose cases are files.
//!
//! Arguments (after `--`): a substring of `group/name@end` to run only some
//! runs (`--filter PATTERN` or a bare PATTERN); libtest's own flags are
//! accepted and ignored. `CONFORMANCE_RUNS=N` replays each run N times
//! (default 2) and fails on any difference between the transcripts, so a
//! nondeterministic snapshot is caught here rather than in CI.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Instant;

use conformance::end::all_ends;
use conformance::runner::{Outcome, ends_for, run};
use conformance::scenario::Scenario;
use conformance::snapshot::{check, crate_dir, scenarios_dir, snapshot_file};

fn main() -> ExitCode {
    // insta reports a snapshot mismatch by panicking after printing the
    // diff; the harness catches it, so print one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("panic");
        eprintln!("panicked{location}: {message}");
    }));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filter: Option<String> = None;
    let mut list = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--filter" => {
                filter = args.get(i + 1).cloned();
                i += 1;
            }
            "--list" => list = true,
            // libtest options that take a value.
            "--test-threads" | "--format" | "--color" | "--skip" | "-Z" | "--logfile" => i += 1,
            flag if flag.starts_with('-') => {}
            pattern => filter = Some(pattern.to_owned()),
        }
        i += 1;
    }
    let runs: usize = std::env::var("CONFORMANCE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
        .max(1);

    let scenarios = match Scenario::load_all(&scenarios_dir()) {
        Ok(scenarios) => scenarios,
        Err(e) => {
            eprintln!("cannot load the scenarios:\n{e}");
            return ExitCode::FAILURE;
        }
    };
    let ends = all_ends();
    if list {
        for scenario in &scenarios {
            for end in ends_for(scenario, &ends) {
                println!("{}@{}: test", scenario.name, end.name());
            }
        }
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    let mut expected_snapshots = BTreeSet::new();
    let mut covered = BTreeSet::new();
    println!("{:<7} {:<12} scenario", "result", "end");
    for scenario in &scenarios {
        let applicable = ends_for(scenario, &ends);
        for end in &applicable {
            expected_snapshots.insert(snapshot_file(scenario, end.name()));
        }
        let selected: Vec<_> = applicable
            .into_iter()
            .filter(|end| {
                filter
                    .as_ref()
                    .is_none_or(|f| format!("{}@{}", scenario.name, end.name()).contains(f))
            })
            .collect();
        if selected.is_empty() {
            if filter
                .as_ref()
                .is_none_or(|f| scenario.name.contains(f.as_str()))
            {
                println!("{:<7} {:<12} {}", "skip", "(no-end)", scenario.name);
                skipped += 1;
            }
            continue;
        }
        for end in selected {
            let outcome = run(scenario, end);
            let mut failures = outcome.failures.clone();
            for _ in 1..runs {
                let again = run(scenario, end);
                if let Some(diff) = first_difference(&outcome, &again) {
                    failures.push(format!("nondeterministic transcript: {diff}"));
                    break;
                }
            }
            if !outcome.transcript.is_empty()
                && let Err(e) = check(scenario, &outcome)
            {
                failures.push(e);
            }
            if failures.is_empty() {
                passed += 1;
                covered.extend(scenario.catalogue.iter().copied());
                println!("{:<7} {:<12} {}", "ok", end.name(), scenario.name);
            } else {
                failed += 1;
                println!("{:<7} {:<12} {}", "FAILED", end.name(), scenario.name);
                for failure in &failures {
                    println!("        {failure}");
                }
            }
        }
    }

    if filter.is_none() {
        for stale in stale_snapshots(&expected_snapshots) {
            failed += 1;
            println!(
                "{:<7} {:<12} {} (no scenario and end make it: delete it)",
                "FAILED", "(snapshot)", stale
            );
        }
        let missing: Vec<String> = (1..=95)
            .filter(|n| !covered.contains(n))
            .map(|n| n.to_string())
            .collect();
        println!(
            "catalogue: {} of 95 cases covered by passing runs{}",
            95 - missing.len(),
            if missing.is_empty() {
                String::new()
            } else {
                format!("; not covered: {}", missing.join(", "))
            }
        );
    }
    println!(
        "conformance: {passed} passed, {failed} failed{} ({:.1}s)",
        if skipped > 0 {
            format!(", {skipped} skipped (no end yet)")
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn first_difference(a: &Outcome, b: &Outcome) -> Option<String> {
    if a.transcript == b.transcript && a.failures == b.failures {
        return None;
    }
    let line = a
        .transcript
        .lines()
        .zip(b.transcript.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y);
    Some(match line {
        Some((n, (x, y))) => format!("line {}: {x:?} then {y:?}", n + 1),
        None => format!("failures {:?} then {:?}", a.failures, b.failures),
    })
}

fn stale_snapshots(expected: &BTreeSet<std::path::PathBuf>) -> Vec<String> {
    let root = crate_dir().join("snapshots");
    let mut stale = Vec::new();
    let Ok(groups) = std::fs::read_dir(&root) else {
        return stale;
    };
    for group in groups.flatten() {
        let Ok(files) = std::fs::read_dir(group.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "snap") && !expected.contains(&path) {
                stale.push(
                    path.strip_prefix(crate_dir())
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    stale
}
