//! Pull requests and mapping files: the format takes no new images (DPTP-3921), so every line a
//! pull request adds or edits is an error that shows the `_config.yaml` entry to add instead.
//! A line is new when the base has no line with the same words: moving a line or changing its
//! spacing adds nothing, and uncommenting one adds it.

use super::migrate::{self, NewEntry};
use super::{MappingFile, MappingLine};
use crate::config::model::Config;
use crate::diag::{Code, Diagnostic, printable};
use crate::rules::Options;
use crate::source::Span;
use std::collections::HashMap;

/// The lines of `head` that `base` does not have; a line repeated more often than in the base
/// is new once per extra copy. Without a base (a new file) every line is new.
pub fn added_lines<'h>(base: Option<&MappingFile>, head: &'h MappingFile) -> Vec<&'h MappingLine> {
    let base: Vec<&MappingLine> = base.map_or(Vec::new(), |b| b.lines.iter().collect());
    let mut in_base = LineCounts::of(&base);
    head.lines
        .iter()
        .filter(|line| !in_base.take(line))
        .collect()
}

/// The lines of `file` with the words of `lines`, each of `lines` matched once, in `file`'s
/// order.
pub fn same_lines<'f>(file: &'f MappingFile, lines: &[&MappingLine]) -> Vec<&'f MappingLine> {
    let mut wanted = LineCounts::of(lines);
    file.lines.iter().filter(|line| wanted.take(line)).collect()
}

/// How many times each line (by its words) is still to be matched.
struct LineCounts(HashMap<String, usize>);

impl LineCounts {
    fn of(lines: &[&MappingLine]) -> Self {
        let mut counts = HashMap::new();
        for line in lines {
            *counts.entry(words(line)).or_default() += 1;
        }
        LineCounts(counts)
    }

    /// Matches `line` once, if a copy of it is left.
    fn take(&mut self, line: &MappingLine) -> bool {
        match self.0.get_mut(&words(line)) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

/// A line's words, one space apart (words never hold whitespace): the same for every spacing.
fn words(line: &MappingLine) -> String {
    std::iter::once(&line.source)
        .chain(&line.targets)
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An error on each line of `added` (lines of the mapping file at `path`), naming the entries
/// to add to the config at `config_path` (loaded as `config`) instead, or why there are none.
pub fn added_line_errors(
    path: &str,
    added: &[&MappingLine],
    config: &Config,
    config_path: &str,
    options: &Options,
) -> Vec<Diagnostic> {
    let only_added = MappingFile {
        namespace: None,
        lines: added.iter().map(|&line| line.clone()).collect(),
    };
    let migration = migrate::plan_parsed(config, &[(path, only_added)], options);
    added
        .iter()
        .map(|line| {
            let number = line.source.span.line;
            let entries: Vec<NewEntry> = migration
                .add
                .iter()
                .filter(|entry| entry.from.1 == number)
                .cloned()
                .collect();
            let reasons: Vec<String> = migration
                .present
                .iter()
                .chain(&migration.refused)
                .filter(|skipped| skipped.line == number)
                .map(|skipped| printable(&skipped.reason))
                .collect();
            let config_path = printable(config_path);
            if entries.is_empty() {
                Diagnostic::error(
                    Code::MappingLineAdded,
                    whole_line(line),
                    format!(
                        "mapping files take no new images: {}",
                        reasons.join("; ")
                    ),
                )
                .with_help(format!(
                    "delete this line; only `{config_path}` entries are mirrored now"
                ))
            } else {
                let keys: Vec<String> = entries.iter().map(|e| format!("`{}`", e.key)).collect();
                let mut message = format!(
                    "mapping files take no new images: add {} to `{config_path}` instead",
                    keys.join(", ")
                );
                if !reasons.is_empty() {
                    message.push_str(&format!(" (and not: {})", reasons.join("; ")));
                }
                let entry = migrate::render(&entries, Some(config));
                Diagnostic::error(Code::MappingLineAdded, whole_line(line), message)
                    .with_help_lines(&format!(
                        "delete this line, and add under `supplementalCIImages:` in `{config_path}`:\n{entry}"
                    ))
            }
        })
        .collect()
}

/// From the source's first character to the last target's last.
fn whole_line(line: &MappingLine) -> Span {
    let start = line.source.span;
    let end = line.targets.last().map_or(start, |t| t.span);
    Span::new(
        start.line,
        start.column,
        (end.column + end.width).saturating_sub(start.column),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn mapping(text: &str) -> MappingFile {
        super::super::parse(&SourceFile::new(
            "mapping_supplemental_ci_images_ci",
            text.to_owned(),
        ))
    }

    fn lines(added: &[&MappingLine]) -> Vec<u32> {
        added.iter().map(|l| l.source.span.line).collect()
    }

    #[test]
    fn only_lines_the_base_lacks_are_new() {
        let base = mapping(
            "a/b:1 registry.ci.openshift.org/ci/b:1\nc/d:1 registry.ci.openshift.org/ci/d:1\n#e/f:1 registry.ci.openshift.org/ci/f:1\n",
        );
        // Reordered, respaced, one line uncommented, one edited, one duplicated.
        let head = mapping(
            "c/d:1   registry.ci.openshift.org/ci/d:1\n# comment\na/b:1 registry.ci.openshift.org/ci/b:1\ne/f:1 registry.ci.openshift.org/ci/f:1\na/b:2 registry.ci.openshift.org/ci/b:1\nc/d:1 registry.ci.openshift.org/ci/d:1\n",
        );
        assert_eq!(lines(&added_lines(Some(&base), &head)), [4, 5, 6]);
        assert_eq!(lines(&added_lines(None, &head)), [1, 3, 4, 5, 6]);
    }

    #[test]
    fn each_new_line_names_its_config_entry_or_why_there_is_none() {
        let file = SourceFile::new(
            "_config.yaml",
            "supplementalCIImages:\n  ci/a:1:\n    image: quay.io/x/a:1\n".to_owned(),
        );
        let (config, _) = crate::config::load(&file);
        let head = mapping(
            "quay.io/x/n:1 registry.ci.openshift.org/ci/n:1\nquay.io/x/a:1  registry.ci.openshift.org/ci/a:1\ndocker.io/x/d:1 registry.ci.openshift.org/ci/d:1\n",
        );
        let added = added_lines(None, &head);
        let errors = added_line_errors(
            "m",
            &added,
            &config,
            "core-services/image-mirroring/_config.yaml",
            &Options::default(),
        );
        let shown: Vec<(Span, &str, Option<&str>)> = errors
            .iter()
            .map(|d| (d.span, d.message.as_str(), d.help.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    Span::new(1, 1, 46),
                    "mapping files take no new images: add `ci/n:1` to `core-services/image-mirroring/_config.yaml` instead",
                    Some(
                        "delete this line, and add under `supplementalCIImages:` in `core-services/image-mirroring/_config.yaml`:\n  ci/n:1:\n    image: quay.io/x/n:1"
                    )
                ),
                (
                    Span::new(2, 1, 47),
                    "mapping files take no new images: `ci/a:1` is in `_config.yaml` already",
                    Some(
                        "delete this line; only `core-services/image-mirroring/_config.yaml` entries are mirrored now"
                    )
                ),
                (
                    Span::new(3, 1, 48),
                    "mapping files take no new images: the source `docker.io/x/d:1` is on Docker Hub, which cannot be mirrored",
                    Some(
                        "delete this line; only `core-services/image-mirroring/_config.yaml` entries are mirrored now"
                    )
                ),
            ]
        );
        assert!(errors.iter().all(|d| d.code == Code::MappingLineAdded));
    }
}
