//! The deprecated mapping files a pull request touches: every line it adds or edits is an
//! error showing the `_config.yaml` entry to add instead; older problems of those files are
//! reported on their lines but do not fail the step (see `FailOn`). Files the pull request does
//! not touch are left alone, and deleting lines (or whole files) is always welcome.

use super::checkout::ReadError;
use crate::config::model::Config;
use crate::diag::{Diagnostic, sort_and_dedup};
use crate::github::api::ChangedFile;
use crate::mapping::{self, added, check};
use crate::rules::Options;
use crate::source::SourceFile;
use std::collections::HashSet;

/// A mapping file the pull request changes, checked at its head.
pub(super) struct ChangedMapping {
    /// The head version.
    pub file: SourceFile,
    /// Every finding, the added lines' errors included.
    pub diagnostics: Vec<Diagnostic>,
    /// Head lines the pull request adds or edits.
    pub added: HashSet<u32>,
}

/// Which version of a file to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Version {
    /// At the base commit.
    Base,
    /// At the pull request's head commit: line numbers refer to it.
    Head,
    /// At the merge commit (the base plus exactly the pull request's changes), when known.
    Merge,
}

/// The config the entries belong in, as the pull request head has it.
pub(super) struct HeadConfig<'a> {
    /// Its workspace-relative path, named in messages.
    pub path: &'a str,
    /// Its entries.
    pub config: &'a Config,
}

/// Checks every mapping file among `changed`; `read(path, version)` gives a file's text at
/// that version, `None` when that commit has no such file (or the merge commit is unknown).
pub(super) fn check_changed(
    changed: &[ChangedFile],
    mut read: impl FnMut(&str, Version) -> Result<Option<String>, ReadError>,
    head_config: &HeadConfig<'_>,
    options: &Options,
) -> Result<Vec<ChangedMapping>, ReadError> {
    let defined = check::defined_in(head_config.config, head_config.path, options);
    let mut checked = Vec::new();
    for file in changed {
        // The folder's naming rule: a mapping file's name starts with `mapping_`.
        if file.removed || !mapping::is_mapping_file(&file.path, "") {
            continue;
        }
        let Some(head_text) = read(&file.path, Version::Head)? else {
            continue;
        };
        let base_path = file.previous.as_deref().unwrap_or(&file.path);
        let base = read(base_path, Version::Base)?
            .map(|text| mapping::parse(&SourceFile::new(base_path, text)));
        let head_file = SourceFile::new(file.path.as_str(), head_text);
        let head = mapping::parse(&head_file);
        let new_lines = match read(&file.path, Version::Merge)? {
            // What the merge adds to the base is this pull request's; find it at the head.
            Some(merged) => {
                let merged = mapping::parse(&SourceFile::new(file.path.as_str(), merged));
                let ours = added::added_lines(base.as_ref(), &merged);
                added::same_lines(&head, &ours)
            }
            None => added::added_lines(base.as_ref(), &head),
        };

        let mut diagnostics = check::check(&head);
        diagnostics.extend(check::defined_elsewhere(&head, &defined));
        diagnostics.extend(added::added_line_errors(
            &file.path,
            &new_lines,
            head_config.config,
            head_config.path,
            options,
        ));
        sort_and_dedup(&mut diagnostics);
        checked.push(ChangedMapping {
            added: new_lines.iter().map(|l| l.source.span.line).collect(),
            file: head_file,
            diagnostics,
        });
    }
    Ok(checked)
}
