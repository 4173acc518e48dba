//! A mirror run's results as people and programs read them: a table for terminals and logs,
//! Markdown for job summaries (every entry, or only those a sync did not find up to date), and
//! the stable JSON document of `docs/json-output.md`. [`crate::mirror::run`] produces the
//! [`Report`]; this module only says it.

use super::human;
use super::table::{self, Row};
use crate::mirror::Outcome;
use crate::mirror::run::{Counts, MirrorResult, Mirrored, NOT_IN_QCI, Report, ResultKind};

/// The whole `mirror --format json` document (see `docs/json-output.md`): the plan's shape,
/// with the run's transfer totals between `counts` and `entries`.
#[derive(Debug, serde::Serialize)]
pub struct Document<'a> {
    /// Schema version, shared with the other JSON documents.
    pub version: u32,
    /// Entries by result.
    pub counts: Counts,
    /// Bytes streamed into the target.
    pub bytes_uploaded: u64,
    /// Blobs streamed into the target.
    pub blobs_uploaded: u64,
    /// Blobs mounted from another repository.
    pub blobs_mounted: u64,
    /// Blobs the target had already.
    pub blobs_existing: u64,
    /// Every selected entry, in config order.
    pub entries: &'a [Mirrored],
}

impl<'a> Document<'a> {
    /// The document for `report`.
    pub fn of(report: &'a Report) -> Self {
        Document {
            version: super::json::VERSION,
            counts: Counts::of(&report.entries),
            bytes_uploaded: report.bytes_uploaded,
            blobs_uploaded: report.blobs_uploaded,
            blobs_mounted: report.blobs_mounted,
            blobs_existing: report.blobs_existing,
            entries: &report.entries,
        }
    }
}

/// What an entry's result means in a few words: a digest, what it replaced, or why it failed or
/// was skipped. Progress lines say it too.
pub fn result_detail(result: &MirrorResult) -> String {
    match result {
        MirrorResult::Done(Outcome::UpToDate { digest }) => digest.clone(),
        MirrorResult::Done(Outcome::Copied {
            digest,
            replaced: Some(old),
            backup: Some(backup),
        }) => format!("{digest} (replaced {old}, kept as {backup})"),
        MirrorResult::Done(Outcome::Copied {
            digest,
            replaced: Some(old),
            backup: None,
        }) => format!("{digest} (replaced {old})"),
        MirrorResult::Done(Outcome::Copied { digest, .. }) => format!("{digest} (new tag)"),
        MirrorResult::Done(Outcome::SourceAbsent) => NOT_IN_QCI.to_owned(),
        MirrorResult::Failed { error, .. } => error.to_string(),
        MirrorResult::Skipped { reason, .. } => reason.clone(),
    }
}

fn totals(report: &Report) -> String {
    let counts = Counts::of(&report.entries);
    // Only configs with `qciToAppCIImages` entries can have them.
    let absent = match counts.absent {
        0 => String::new(),
        n => format!(", {n} not in QCI"),
    };
    format!(
        "{}: {} copied, {} up to date, {} failed, {} invalid, {} ignored{absent}; {} uploaded in {} ({} mounted, {} already there)",
        human::count(report.entries.len(), "entry"),
        counts.copied,
        counts.up_to_date,
        counts.failed,
        counts.invalid,
        counts.ignored,
        crate::diag::mebibytes(report.bytes_uploaded),
        human::count(
            usize::try_from(report.blobs_uploaded).unwrap_or(usize::MAX),
            "blob"
        ),
        report.blobs_mounted,
        report.blobs_existing,
    )
}

fn rows<'a>(entries: impl IntoIterator<Item = &'a Mirrored>) -> Vec<Row<'a>> {
    entries
        .into_iter()
        .map(|e| Row {
            state: e.result.kind().name(),
            target: e.target.as_str().into(),
            source: e.source.as_str().into(),
            detail: result_detail(&e.result),
        })
        .collect()
}

/// The results as a table, with totals.
pub fn render_human(report: &Report) -> String {
    table::human("RESULT", 11, &rows(&report.entries), &totals(report))
}

/// The results as a Markdown table for a job summary.
pub fn render_markdown(report: &Report) -> String {
    table::markdown(
        "qci-mirror mirror",
        &totals(report),
        "Result",
        &rows(&report.entries),
    )
}

/// The job summary of a sync: the totals, and a table of only the entries that were copied,
/// failed or skipped. A scheduled sync finds hundreds of entries up to date, and listing them
/// would bury the few that matter.
pub fn render_summary(report: &Report, title: &str) -> String {
    let changed: Vec<&Mirrored> = report
        .entries
        .iter()
        .filter(|e| e.result.kind() != ResultKind::UpToDate)
        .collect();
    let rows = rows(changed);
    if rows.is_empty() {
        return format!("## {title}\n\n{}.\n", totals(report));
    }
    table::markdown(title, &totals(report), "Result", &rows)
}

/// The results as stable JSON, [`Document`].
pub fn render_json(report: &Report) -> String {
    super::json::pretty(&Document::of(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::Section;

    #[test]
    fn the_totals_count_in_words_and_sizes_in_mebibytes() {
        let report = Report {
            entries: vec![Mirrored {
                section: Section::Supplemental,
                key: "ci/a:v1".to_owned(),
                line: 2,
                source: "quay.io/org/a:v1".to_owned(),
                target: "quay.io/openshift/ci:ci_a_v1".to_owned(),
                result: MirrorResult::Done(Outcome::Copied {
                    digest: "sha256:ab".to_owned(),
                    replaced: None,
                    backup: None,
                }),
            }],
            bytes_uploaded: 3 * 1024 * 1024 / 2,
            blobs_uploaded: 1,
            blobs_mounted: 0,
            blobs_existing: 2,
        };
        assert!(
            render_human(&report).ends_with(
                "1 entry: 1 copied, 0 up to date, 0 failed, 0 invalid, 0 ignored; 1.5 MiB uploaded in 1 blob (0 mounted, 2 already there)\n"
            ),
            "{}",
            render_human(&report)
        );
    }
}
