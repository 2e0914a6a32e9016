//! Developer commands for the SPDY workspace.
//!
//! - `cargo xtask frames decode FILE [--full] [--strict]`: print the frames
//!   of one direction of a captured session as YAML.
//! - `cargo xtask frames encode FILE.yaml [-o OUT]`: the reverse.
//! - `cargo xtask fuzz TARGET [--seconds N]`: run a cargo-fuzz target
//!   (needs a nightly toolchain and cargo-fuzz).
//! - `cargo xtask bench`: run every benchmark.
//! - `cargo xtask conformance [--filter PATTERN] [--no-peers]`: every
//!   scenario against every end, then the interop suites; a table and a
//!   summary line.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod conformance;
mod frames;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  frames decode FILE [--full] [--strict]
                        print the frames of one direction of a SPDY/3.1 session
                        (raw bytes as read from a socket) as YAML; --full prints
                        long DATA payloads instead of summarising them;
                        --strict also checks the header name/value rules
  frames encode FILE.yaml [-o OUT]
                        encode a YAML list of frames (stdout when no -o)
  fuzz TARGET [--seconds N]
                        run a fuzz target (frame_decode, header_block,
                        frame_roundtrip, session_server, session_client) for
                        N seconds (default 60); needs a nightly toolchain and
                        `cargo install cargo-fuzz`
  bench                 run the benchmarks of every crate
  conformance [--filter PATTERN] [--no-peers]
                        replay every scenario (conformance/scenarios) against
                        every end, then the interop suites (real peers,
                        Wireshark); print a table (result, end, case) and
                        `conformance: N passed, M failed`; --filter keeps the
                        cases whose name contains PATTERN; --no-peers skips
                        the interop suites
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["frames", "decode", rest @ ..] => frames::decode(rest),
        ["frames", "encode", rest @ ..] => frames::encode(rest),
        ["fuzz", rest @ ..] => fuzz(rest),
        ["bench", rest @ ..] => bench(rest),
        ["conformance", rest @ ..] => conformance::run(rest),
        ["help" | "--help" | "-h"] | [] => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(format!("unknown command\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

const FUZZ_TARGETS: &[&str] = &[
    "frame_decode",
    "header_block",
    "frame_roundtrip",
    "session_server",
    "session_client",
];

fn fuzz(args: &[&str]) -> Result<(), String> {
    let (target, rest) = args
        .split_first()
        .ok_or_else(|| format!("which target? one of {FUZZ_TARGETS:?}"))?;
    if !FUZZ_TARGETS.contains(target) {
        return Err(format!(
            "unknown fuzz target {target}; one of {FUZZ_TARGETS:?}"
        ));
    }
    let seconds = match rest {
        [] => 60,
        ["--seconds", n] => n
            .parse::<u64>()
            .map_err(|_| format!("--seconds takes a whole number, not {n}"))?,
        _ => return Err("usage: cargo xtask fuzz TARGET [--seconds N]".into()),
    };
    let nightly = Command::new("cargo")
        .args(["+nightly", "--version"])
        .output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        return Err(
            "the fuzzer needs a nightly toolchain (`rustup toolchain install nightly`); \
                    the stable test `cargo test -p spdy-fuzz` replays the corpora instead"
                .into(),
        );
    }
    let cargo_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output();
    if !cargo_fuzz.is_ok_and(|o| o.status.success()) {
        return Err("cargo-fuzz is not installed: `cargo install cargo-fuzz`".into());
    }
    let corpus = format!("fuzz/corpus/{target}");
    run(Command::new("cargo").args([
        "+nightly",
        "fuzz",
        "run",
        "--features",
        "libfuzzer",
        target,
        &corpus,
        "--",
        &format!("-max_total_time={seconds}"),
    ]))
}

fn bench(args: &[&str]) -> Result<(), String> {
    run(Command::new("cargo")
        .args(["bench", "--workspace", "--benches"])
        .args(args))
}
