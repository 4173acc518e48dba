//! Which lines each entry (or list item) owns: from its key to just before the next entry,
//! item or section, comments included, and so which findings belong to it.

use super::Section;
use crate::config::model::{self, Config};
use crate::diag::{Diagnostic, Severity};
use std::collections::HashMap;
use std::ops::RangeInclusive;

/// One entry or list item and the lines it owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// The config's name of its section.
    pub section: &'static str,
    /// The key, for keyed sections; `None` for list items, which have no identity.
    pub key: Option<String>,
    /// From its first line to just before the next entry, item or section.
    pub lines: RangeInclusive<u32>,
}

/// Every entry and list item of a config, in line order.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    units: Vec<Unit>,
    /// The first line of every entry, item and section, sorted: where each unit ends.
    starts: Vec<u32>,
}

impl Layout {
    /// The layout of `config`.
    pub fn of(config: &Config) -> Self {
        let keyed = |section: Section| {
            let entries: Box<dyn Iterator<Item = &model::Entry>> = match section {
                Section::Supplemental => Box::new(config.supplemental_entries()),
                Section::QciToAppCi => Box::new(config.qci_to_app_ci_entries()),
            };
            entries.map(move |e| (section.name(), Some(e.key.value.clone()), e.key.span.line))
        };
        let listed = |section: &'static str, items: &mut dyn Iterator<Item = &model::Item>| {
            items
                .map(|i| (section, None, i.span.line))
                .collect::<Vec<_>>()
        };
        let mut firsts: Vec<(&'static str, Option<String>, u32)> = keyed(Section::Supplemental)
            .chain(keyed(Section::QciToAppCi))
            .collect();
        firsts.extend(listed(
            model::IGNORED_SOURCES,
            &mut config.ignored_source_items(),
        ));
        firsts.extend(listed(model::ART_IMAGES, &mut config.art_image_items()));

        let mut starts: Vec<u32> = config
            .top_keys
            .iter()
            .map(|k| k.span.line)
            .chain(firsts.iter().map(|(_, _, line)| *line))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let mut layout = Layout {
            units: Vec::with_capacity(firsts.len()),
            starts,
        };
        for (section, key, first) in firsts {
            let lines = layout.lines_from(first);
            layout.units.push(Unit {
                section,
                key,
                lines,
            });
        }
        layout.units.sort_by_key(|u| *u.lines.start());
        layout
    }

    /// The lines owned by the unit that starts on `first`.
    pub fn lines_from(&self, first: u32) -> RangeInclusive<u32> {
        // Sorted, so a binary search: a config of 100,000 entries asks this 100,000 times.
        let after = self.starts.partition_point(|&s| s <= first);
        let next = self.starts.get(after).map_or(u32::MAX, |s| s - 1);
        first..=next
    }

    /// The entries and items, in line order.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The unit that owns `line`; `None` for section keys, top-level comments and text the
    /// parser could not place.
    pub fn owner(&self, line: u32) -> Option<&Unit> {
        // Units do not overlap and are sorted, so the candidate is the last one starting at or
        // before the line.
        let after = self.units.partition_point(|u| *u.lines.start() <= line);
        after
            .checked_sub(1)
            .map(|i| &self.units[i])
            .filter(|u| u.lines.contains(&line))
    }

    /// The first error among `diagnostics` of each entry, found in one pass: an entry with one
    /// is invalid and never looked up or copied.
    pub fn first_errors<'d>(&self, diagnostics: &'d [Diagnostic]) -> FirstErrors<'d> {
        let mut by_entry = HashMap::new();
        for diagnostic in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
            if let Some(owner) = self.owner(diagnostic.span.line) {
                by_entry
                    .entry((owner.section, *owner.lines.start()))
                    .or_insert(diagnostic);
            }
        }
        FirstErrors { by_entry }
    }
}

/// Each entry's first error, by section and first line.
pub struct FirstErrors<'d> {
    by_entry: HashMap<(&'static str, u32), &'d Diagnostic>,
}

impl<'d> FirstErrors<'d> {
    /// The first error of the entry of `section` whose key is on `key_line`.
    pub fn of(&self, section: Section, key_line: u32) -> Option<&'d Diagnostic> {
        self.by_entry.get(&(section.name(), key_line)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    const TEXT: &str = "\
# a comment above every section
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  # this comment belongs to ci/a:v1
  ci/b:v1:
    namespace: ci
    name: b
    tag: v1
ignoredSources:
- image: quay.io/org/broken:v1
  reason: broken
qciToAppCIImages:
  ci/c:v1: {}
";

    fn layout() -> Layout {
        let (config, diagnostics) =
            crate::config::load(&SourceFile::new("t.yaml", TEXT.to_owned()));
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        Layout::of(&config)
    }

    #[test]
    fn each_entry_owns_its_lines_up_to_the_next_entry_item_or_section() {
        let layout = layout();
        let shown: Vec<(&str, Option<&str>, RangeInclusive<u32>)> = layout
            .units()
            .iter()
            .map(|u| (u.section, u.key.as_deref(), u.lines.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                ("supplementalCIImages", Some("ci/a:v1"), 3..=5),
                ("supplementalCIImages", Some("ci/b:v1"), 6..=9),
                ("ignoredSources", None, 11..=12),
                ("qciToAppCIImages", Some("ci/c:v1"), 14..=u32::MAX),
            ]
        );
    }

    #[test]
    fn section_keys_and_top_comments_belong_to_no_entry() {
        let layout = layout();
        for line in [1, 2, 10, 13] {
            assert_eq!(layout.owner(line), None, "line {line}");
        }
        assert_eq!(
            layout.owner(5).and_then(|u| u.key.as_deref()),
            Some("ci/a:v1")
        );
        assert_eq!(layout.owner(12).map(|u| u.section), Some("ignoredSources"));
    }

    #[test]
    fn an_entry_s_first_error_is_the_first_on_any_of_its_lines() {
        use crate::diag::Code;
        use crate::source::Span;
        let at = |line: u32, severity: Severity| Diagnostic {
            severity,
            ..Diagnostic::error(
                Code::InvalidImageReference,
                Span::new(line, 1, 1),
                format!("on {line}"),
            )
        };
        let diagnostics = [
            at(4, Severity::Warning),
            at(8, Severity::Error),
            at(9, Severity::Error),
            at(10, Severity::Error),
        ];
        let layout = layout();
        let errors = layout.first_errors(&diagnostics);
        let first = |section, line| errors.of(section, line).map(|d| d.message.as_str());
        assert_eq!(
            first(Section::Supplemental, 3),
            None,
            "a warning is not an error"
        );
        assert_eq!(first(Section::Supplemental, 6), Some("on 8"));
        assert_eq!(
            first(Section::QciToAppCi, 6),
            None,
            "another section's entry"
        );
        assert_eq!(first(Section::QciToAppCi, 14), None);
    }
}
