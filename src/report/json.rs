//! The JSON report. Its shape is a stable contract, documented in `docs/json-output.md`;
//! `version` changes only when a field is removed or changes meaning.

use crate::diag::{Diagnostic, Tally};
use crate::source::Span;
use serde::Serialize;

/// The schema version of this report.
pub const VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Schema version, currently 1.
    pub version: u32,
    /// Errors in all files.
    pub errors: usize,
    /// Warnings in all files.
    pub warnings: usize,
    /// One record per path given, in the order given.
    pub files: Vec<FileReport<'a>>,
}

/// One file's findings, or why it could not be read.
#[derive(Debug, Serialize)]
pub struct FileReport<'a> {
    /// The path as given.
    pub path: &'a str,
    /// Set when the file could not be read; then `diagnostics` is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
    /// Errors in this file.
    pub errors: usize,
    /// Warnings in this file.
    pub warnings: usize,
    /// Findings, sorted by position.
    pub diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    /// Stable kebab-case code.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// One self-contained sentence.
    pub message: &'a str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Column just past the offending text.
    pub end_column: u32,
    /// How to fix it, or null.
    pub help: Option<&'a str>,
    /// Related places.
    pub labels: Vec<JsonLabel<'a>>,
}

/// A related place.
#[derive(Debug, Serialize)]
pub struct JsonLabel<'a> {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Column just past the text.
    pub end_column: u32,
    /// What is there.
    pub message: &'a str,
}

fn end_column(span: Span) -> u32 {
    span.column + span.width.max(1)
}

impl<'a> FileReport<'a> {
    /// The record for a checked file.
    pub fn checked(path: &'a str, diagnostics: &'a [Diagnostic]) -> Self {
        let tally = Tally::of(diagnostics);
        FileReport {
            path,
            read_error: None,
            errors: tally.errors,
            warnings: tally.warnings,
            diagnostics: diagnostics
                .iter()
                .map(|d| JsonDiagnostic {
                    code: d.code.as_str(),
                    severity: d.severity.as_str(),
                    message: &d.message,
                    line: d.span.line,
                    column: d.span.column,
                    end_column: end_column(d.span),
                    help: d.help.as_deref(),
                    labels: d
                        .labels
                        .iter()
                        .map(|l| JsonLabel {
                            line: l.span.line,
                            column: l.span.column,
                            end_column: end_column(l.span),
                            message: &l.message,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The record for a file that could not be read.
    pub fn unreadable(path: &'a str, error: String) -> Self {
        FileReport {
            path,
            read_error: Some(error),
            errors: 0,
            warnings: 0,
            diagnostics: Vec::new(),
        }
    }
}

/// Serializes the report, pretty-printed, with a trailing newline.
pub fn render(files: Vec<FileReport<'_>>) -> String {
    let report = Report {
        version: VERSION,
        errors: files.iter().map(|f| f.errors).sum(),
        warnings: files.iter().map(|f| f.warnings).sum(),
        files,
    };
    pretty(&report)
}

/// `value` pretty-printed with a trailing newline, as every JSON document of the tool is: typed
/// structs (never `serde_json::Value`, whose maps sort their keys) keep fields in declaration
/// order, the order `docs/json-output.md` lists them in.
pub fn pretty<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
