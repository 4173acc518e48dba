//! The one-row-per-entry tables of `plan` and `mirror`, for terminals and for job summaries.

use super::markdown::escape_cell;
use crate::diag::printable;
use std::borrow::Cow;
use std::fmt::Write;

/// One entry (or a group of alike entries): what happened (or will), to which target, from
/// which source, and the detail.
pub struct Row<'a> {
    /// `copy`, `up-to-date`, `failed`, …
    pub state: &'a str,
    /// The target reference.
    pub target: Cow<'a, str>,
    /// The source pull spec (config text).
    pub source: Cow<'a, str>,
    /// A digest or a reason.
    pub detail: String,
}

/// An aligned table headed `first_column`, whose states are at most `state_width` wide, then
/// `footer`. Config text has its control characters escaped.
pub fn human(first_column: &str, state_width: usize, rows: &[Row<'_>], footer: &str) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(out, "{footer}");
        return out;
    }
    let width = rows
        .iter()
        .map(|r| r.target.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{first_column:<state_width$} {:<width$} SOURCE → DETAIL",
        "TARGET"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<state_width$} {:<width$} {} → {}",
            row.state,
            row.target,
            printable(&row.source),
            printable(&row.detail),
        );
    }
    let _ = writeln!(out, "{footer}");
    out
}

/// A Markdown section titled `title` with `summary` and a table; config text is escaped so it
/// cannot alter the table.
pub fn markdown(title: &str, summary: &str, first_column: &str, rows: &[Row<'_>]) -> String {
    let mut out = format!("## {title}\n\n{summary}.\n");
    if rows.is_empty() {
        return out;
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "| {first_column} | Target | Source | Detail |\n|---|---|---|---|"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.state,
            escape_cell(&row.target),
            escape_cell(&row.source),
            escape_cell(&row.detail)
        );
    }
    out
}
