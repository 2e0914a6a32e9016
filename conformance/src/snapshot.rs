//! Transcripts as insta snapshots: `conformance/snapshots/<group>/<name>@<end>.snap`.
//!
//! A behaviour change shows as a snapshot diff: review it with
//! `cargo insta review` (or accept every new transcript with
//! `INSTA_UPDATE=always`), and commit the `.snap` files.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use crate::runner::Outcome;
use crate::scenario::Scenario;

/// The crate's directory (scenarios, snapshots).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the scenarios live.
pub fn scenarios_dir() -> PathBuf {
    crate_dir().join("scenarios")
}

/// Where the snapshots of a group live.
pub fn snapshot_dir(group: &str) -> PathBuf {
    crate_dir().join("snapshots").join(group)
}

/// The snapshot file of a scenario against an end.
pub fn snapshot_file(scenario: &Scenario, end: &str) -> PathBuf {
    let stem = scenario.name.rsplit('/').next().unwrap_or(&scenario.name);
    snapshot_dir(&scenario.group).join(format!("{stem}@{end}.snap"))
}

/// Compares the outcome's transcript with its committed snapshot; the
/// error carries insta's message (the diff is printed by insta).
pub fn check(scenario: &Scenario, outcome: &Outcome) -> Result<(), String> {
    let stem = scenario
        .name
        .rsplit('/')
        .next()
        .unwrap_or(&scenario.name)
        .to_owned();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir(&scenario.group));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_suffix(outcome.end);
    settings.set_omit_expression(true);
    settings.set_description(describe(scenario));
    settings.set_input_file(relative(&scenario.path));
    let transcript = outcome.transcript.clone();
    let result = settings.bind(|| {
        catch_unwind(AssertUnwindSafe(|| {
            insta::assert_snapshot!(stem, transcript);
        }))
    });
    result.map_err(|_| {
        format!(
            "the transcript differs from {} (diff above; review with `cargo insta review`, \
             or accept with INSTA_UPDATE=always)",
            relative(&snapshot_file(scenario, outcome.end)).display(),
        )
    })
}

fn describe(scenario: &Scenario) -> String {
    let catalogue: Vec<String> = scenario.catalogue.iter().map(u32::to_string).collect();
    format!(
        "{} [catalogue: {}]",
        scenario.description.trim(),
        if catalogue.is_empty() {
            "none".into()
        } else {
            catalogue.join(", ")
        }
    )
}

fn relative(path: &Path) -> PathBuf {
    let root = crate_dir();
    let workspace = root.parent().unwrap_or(&root);
    path.strip_prefix(workspace)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}
