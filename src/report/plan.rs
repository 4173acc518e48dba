//! The plan as people and programs read it: an aligned table for terminals and logs, Markdown
//! for job summaries, and the stable JSON document of `docs/json-output.md`. [`crate::plan`]
//! finds what a run would do; this module only says it, so the lookups never depend on how
//! their result is shown.

use super::human;
use super::table::{self, Row};
use crate::entries::{PlannedEntry, State, StateKind};
use crate::plan::Counts;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

fn detail(state: &State) -> String {
    match state {
        State::UpToDate { digest } => digest.clone(),
        State::Copy {
            source_digest,
            target_digest: Some(old),
        } => format!("{source_digest} (replaces {old})"),
        State::Copy { source_digest, .. } => format!("{source_digest} (new tag)"),
        State::Unreachable { reason } | State::Invalid { reason } | State::Absent { reason } => {
            reason.clone()
        }
        State::Ignored => "listed in ignoredSources".to_owned(),
    }
}

fn totals(counts: Counts) -> String {
    let mut text = format!(
        "{} up to date, {} to copy, {} unreachable, {} invalid, {} ignored",
        counts.up_to_date, counts.copy, counts.unreachable, counts.invalid, counts.ignored
    );
    // Only configs with `qciToAppCIImages` entries can have them.
    if counts.absent > 0 {
        text.push_str(&format!(", {} not in QCI", counts.absent));
    }
    text
}

/// At least this many unreachable entries with one registry and one reason are shown as one
/// row: a registry that is down must not bury the rest of the plan under hundreds of lines.
const GROUPED_FROM: usize = 5;

/// The rows of a table: an entry each, except unreachable entries alike enough to group.
fn rows(entries: &[PlannedEntry]) -> Vec<Row<'_>> {
    fn failure(entry: &PlannedEntry) -> Option<(&str, &str)> {
        match &entry.state {
            State::Unreachable { reason } => Some((registry_of(&entry.source), reason.as_str())),
            _ => None,
        }
    }
    let mut alike: HashMap<(&str, &str), usize> = HashMap::new();
    for failure in entries.iter().filter_map(failure) {
        *alike.entry(failure).or_default() += 1;
    }
    let mut shown: HashSet<(&str, &str)> = HashSet::new();
    let mut rows = Vec::new();
    for entry in entries {
        match failure(entry) {
            Some(key @ (registry, reason)) if alike[&key] >= GROUPED_FROM => {
                if shown.insert(key) {
                    rows.push(Row {
                        state: StateKind::Unreachable.name(),
                        target: human::count(alike[&key], "entry").into(),
                        source: format!("all on {registry}").into(),
                        detail: reason.to_owned(),
                    });
                }
            }
            _ => rows.push(Row {
                state: entry.state.kind().name(),
                target: entry.target.as_str().into(),
                source: entry.source.as_str().into(),
                detail: detail(&entry.state),
            }),
        }
    }
    rows
}

/// The registry of a pull spec as written (`docker.io` when it names none).
fn registry_of(source: &str) -> &str {
    match source.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// `3 entries: 1 up to date, …`.
fn footer(entries: &[PlannedEntry]) -> String {
    format!(
        "{}: {}",
        human::count(entries.len(), "entry"),
        totals(Counts::of(entries))
    )
}

/// A table for terminals and logs.
pub fn render_human(entries: &[PlannedEntry]) -> String {
    table::human("STATE", 12, &rows(entries), &footer(entries))
}

/// Markdown for a job summary.
pub fn render_markdown(entries: &[PlannedEntry]) -> String {
    table::markdown("qci-mirror plan", &footer(entries), "State", &rows(entries))
}

/// The whole `plan --format json` document (see `docs/json-output.md`).
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    /// Schema version, shared with the other JSON documents.
    pub version: u32,
    /// Entries by state.
    pub counts: Counts,
    /// Every selected entry, in config order.
    pub entries: &'a [PlannedEntry],
}

impl<'a> Document<'a> {
    /// The document for `entries`.
    pub fn of(entries: &'a [PlannedEntry]) -> Self {
        Document {
            version: super::json::VERSION,
            counts: Counts::of(entries),
            entries,
        }
    }
}

/// The stable JSON form, [`Document`].
pub fn render_json(entries: &[PlannedEntry]) -> String {
    super::json::pretty(&Document::of(entries))
}
