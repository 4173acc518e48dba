//! Which findings a change answers for. A pull request (or `validate --changed-since`) is held
//! to the errors in the entries it adds or changes, and to new errors outside any entry; the
//! rest of the file is someone else's, reported but not blocking.

use crate::diag::{Diagnostic, Severity};
use crate::entries::Layout;
use crate::entries::diff::ConfigDiff;
use std::collections::HashSet;

/// Which findings fail the step (or the command).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Errors in entries the pull request adds or edits (and new file-level errors).
    Changed,
    /// Every error, anywhere in the file.
    All,
    /// Nothing: report only.
    Never,
}

/// One finding as the action reports it.
#[derive(Debug, Clone, Copy)]
pub struct Finding<'a> {
    /// Workspace-relative path of the file, as annotations and links need it.
    pub path: &'a str,
    /// What was found, with positions in the PR head's version of the file.
    pub diagnostic: &'a Diagnostic,
    /// Whether the finding is in an entry the pull request adds or changes.
    pub in_changed_entry: bool,
    /// Whether it fails the step under the configured `fail_on` policy.
    pub blocking: bool,
}

/// Decides, for every head finding of the config, whether it lies in a changed entry and
/// whether it fails the step. A finding outside every entry (a syntax error, an unknown
/// top-level key) counts as changed unless the base has the very same finding.
pub fn classify<'a>(
    path: &'a str,
    head: &'a [Diagnostic],
    base: &[Diagnostic],
    diff: &ConfigDiff<'_>,
    entries: &Layout,
    fail_on: FailOn,
) -> Vec<Finding<'a>> {
    let base_messages: HashSet<(crate::diag::Code, &str)> =
        base.iter().map(|d| (d.code, d.message.as_str())).collect();
    head.iter()
        .map(|d| {
            let line = d.span.line;
            let outside_entries = entries.owner(line).is_none();
            let in_changed_entry = diff.touches_line(line)
                || (outside_entries && !base_messages.contains(&(d.code, d.message.as_str())));
            finding(path, d, in_changed_entry, fail_on)
        })
        .collect()
}

/// A finding, blocking when `fail_on` says so.
pub fn finding<'a>(
    path: &'a str,
    diagnostic: &'a Diagnostic,
    in_changed_entry: bool,
    fail_on: FailOn,
) -> Finding<'a> {
    let blocking = diagnostic.severity == Severity::Error
        && match fail_on {
            FailOn::Changed => in_changed_entry,
            FailOn::All => true,
            FailOn::Never => false,
        };
    Finding {
        path,
        diagnostic,
        in_changed_entry,
        blocking,
    }
}
