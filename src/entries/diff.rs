//! What a pull request changes in the config: entries it adds and entries whose value it
//! changes. An edit is judged as strictly as an addition (the incumbent checks new keys only).

use crate::config::model::{Body, Config, Entry, Item, Scalar, Style, Value};
use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

/// How an entry differs from the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// The key (or list item) is not in the base.
    Added,
    /// The key is in the base with a different value.
    Modified,
}

/// One added or changed entry or list item of the head config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<'a> {
    /// The top-level section it belongs to.
    pub section: &'static str,
    /// The key, for keyed sections; `None` for list items.
    pub key: Option<&'a Scalar>,
    /// Added or modified.
    pub kind: ChangeKind,
    /// The head lines that belong to it, from its first line to just before the next entry.
    pub lines: RangeInclusive<u32>,
}

/// Every change of the head config against the base.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigDiff<'a> {
    /// Changes in head order.
    pub changes: Vec<Change<'a>>,
}

impl ConfigDiff<'_> {
    /// Whether a head line lies in an added or changed entry.
    pub fn touches_line(&self, line: u32) -> bool {
        self.changes.iter().any(|c| c.lines.contains(&line))
    }

    /// Only the changes that `ours` has too: `self` compares the base with the pull request's
    /// head, `ours` with the merge commit (the base plus exactly what the pull request changes).
    /// A branch behind its base still carries what the base removed or changed since; those
    /// differences are the base's doing, not the pull request's. Keyed entries are matched by
    /// section and key; list items, which have no identity, are kept when `ours` changes any
    /// item of their section.
    #[must_use]
    pub fn restricted_to(self, ours: &ConfigDiff<'_>) -> Self {
        let keyed: HashSet<(&str, &str)> = ours
            .changes
            .iter()
            .filter_map(|c| c.key.map(|k| (c.section, k.value.as_str())))
            .collect();
        let listed: HashSet<&str> = ours
            .changes
            .iter()
            .filter(|c| c.key.is_none())
            .map(|c| c.section)
            .collect();
        let changes = self
            .changes
            .into_iter()
            .filter(|c| match c.key {
                Some(key) => keyed.contains(&(c.section, key.value.as_str())),
                None => listed.contains(c.section),
            })
            .collect();
        ConfigDiff { changes }
    }

    /// Keys of added or changed `supplementalCIImages` entries, in head order.
    pub fn changed_supplemental_keys(&self) -> impl Iterator<Item = &str> {
        self.changed_keys_of(crate::config::model::SUPPLEMENTAL_CI_IMAGES)
    }

    /// Keys of added or changed `qciToAppCIImages` entries, in head order.
    pub fn changed_qci_to_app_ci_keys(&self) -> impl Iterator<Item = &str> {
        self.changed_keys_of(crate::config::model::QCI_TO_APP_CI_IMAGES)
    }

    /// The head lines of the keys of added or changed `supplementalCIImages` entries.
    pub fn changed_supplemental_key_lines(&self) -> HashSet<u32> {
        self.changes
            .iter()
            .filter(|c| c.section == crate::config::model::SUPPLEMENTAL_CI_IMAGES)
            .filter_map(|c| c.key.map(|k| k.span.line))
            .collect()
    }

    fn changed_keys_of(&self, section: &'static str) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(move |c| c.section == section)
            .filter_map(|c| c.key.map(|k| k.value.as_str()))
    }
}

/// A body reduced to what it means: field names and values, without positions or order.
/// Quoting counts where YAML 1.1 readers give the two spellings different values (`10.10`).
fn canonical(body: &Body) -> String {
    match body {
        Body::Null => "~".to_owned(),
        Body::Other(kind) => format!("<{kind:?}>"),
        Body::Mapping(fields) => {
            let mut parts: Vec<String> = fields
                .iter()
                .map(|f| {
                    let value = match &f.value {
                        Value::Null => "~".to_owned(),
                        // Quoting matters only where YAML 1.1 would read the plain text as a
                        // number, boolean or null.
                        Value::Scalar(s)
                            if s.style == Style::Plain
                                && crate::yaml11::resolve(&s.value).is_some() =>
                        {
                            format!("typed:{}", s.value)
                        }
                        Value::Scalar(s) => format!("text:{}", s.value),
                        Value::Collection(kind) => format!("<{kind:?}>"),
                    };
                    format!("{:?}={value:?}", f.name.value)
                })
                .collect();
            parts.sort();
            parts.join(",")
        }
    }
}

/// Compares `head` with `base`.
pub fn diff<'h>(base: &Config, head: &'h Config) -> ConfigDiff<'h> {
    // An entry's lines are the ones every other reader of entries gives it.
    let layout = crate::entries::Layout::of(head);
    let lines_from = |start: u32| layout.lines_from(start);

    let mut changes = Vec::new();
    let keyed: [(&'static str, Vec<&Entry>, Vec<&'h Entry>); 2] = [
        (
            crate::config::model::SUPPLEMENTAL_CI_IMAGES,
            base.supplemental_entries().collect(),
            head.supplemental_entries().collect(),
        ),
        (
            crate::config::model::QCI_TO_APP_CI_IMAGES,
            base.qci_to_app_ci_entries().collect(),
            head.qci_to_app_ci_entries().collect(),
        ),
    ];
    for (section, base_entries, head_entries) in keyed {
        let mut base_values: HashMap<&str, HashSet<String>> = HashMap::new();
        for entry in base_entries {
            base_values
                .entry(entry.key.value.as_str())
                .or_default()
                .insert(canonical(&entry.body));
        }
        for entry in head_entries {
            let kind = match base_values.get(entry.key.value.as_str()) {
                None => ChangeKind::Added,
                Some(values) if values.contains(&canonical(&entry.body)) => continue,
                Some(_) => ChangeKind::Modified,
            };
            changes.push(Change {
                section,
                key: Some(&entry.key),
                kind,
                lines: lines_from(entry.key.span.line),
            });
        }
    }
    let listed: [(&'static str, Vec<&Item>, Vec<&'h Item>); 2] = [
        (
            crate::config::model::IGNORED_SOURCES,
            base.ignored_source_items().collect(),
            head.ignored_source_items().collect(),
        ),
        (
            crate::config::model::ART_IMAGES,
            base.art_image_items().collect(),
            head.art_image_items().collect(),
        ),
    ];
    for (section, base_items, head_items) in listed {
        // List items have no identity but their content: an edited item is a new one.
        let base_values: HashSet<String> = base_items.iter().map(|i| canonical(&i.body)).collect();
        for item in head_items {
            if !base_values.contains(&canonical(&item.body)) {
                changes.push(Change {
                    section,
                    key: None,
                    kind: ChangeKind::Added,
                    lines: lines_from(item.span.line),
                });
            }
        }
    }
    changes.sort_by_key(|c| *c.lines.start());
    ConfigDiff { changes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn load(text: &str) -> Config {
        let (config, diagnostics) =
            crate::config::load(&SourceFile::new("t.yaml", text.to_owned()));
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        config
    }

    const BASE: &str = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  ci/b:v1:
    namespace: ci
    name: b
    tag: \"10.10\"
  ci/c:v1:
    image: quay.io/org/c:v1
ignoredSources:
- image: quay.io/org/broken:v1
  reason: broken
";

    #[test]
    fn nothing_changes_when_only_order_comments_and_positions_do() {
        let head = "\
# a comment that moves every line
supplementalCIImages:
  ci/c:v1:
    image: quay.io/org/c:v1
  ci/b:v1:
    tag: \"10.10\"
    name: b
    namespace: ci
  ci/a:v1: {image: \"quay.io/org/a:v1\"}
ignoredSources:
- reason: broken
  image: quay.io/org/broken:v1
";
        assert_eq!(diff(&load(BASE), &load(head)).changes, []);
    }

    #[test]
    fn additions_and_edits_are_found_with_their_head_lines() {
        let head = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v2
  ci/new:v1:
    # the new entry's comment belongs to it
    image: quay.io/org/new:v1
  ci/b:v1:
    namespace: ci
    name: b
    tag: 10.10
  ci/c:v1:
    image: quay.io/org/c:v1
ignoredSources:
- image: quay.io/org/broken:v1
  reason: still broken
";
        let head_config = load(head);
        let changes = diff(&load(BASE), &head_config).changes;
        let summary: Vec<(&str, Option<&str>, ChangeKind, RangeInclusive<u32>)> = changes
            .iter()
            .map(|c| {
                (
                    c.section,
                    c.key.map(|k| k.value.as_str()),
                    c.kind,
                    c.lines.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "supplementalCIImages",
                    Some("ci/a:v1"),
                    ChangeKind::Modified,
                    2..=3
                ),
                (
                    "supplementalCIImages",
                    Some("ci/new:v1"),
                    ChangeKind::Added,
                    4..=6
                ),
                // Unquoting a tag changes what YAML 1.1 readers see: an edit.
                (
                    "supplementalCIImages",
                    Some("ci/b:v1"),
                    ChangeKind::Modified,
                    7..=10
                ),
                ("ignoredSources", None, ChangeKind::Added, 14..=u32::MAX),
            ]
        );
        let diff = diff(&load(BASE), &head_config);
        assert!(diff.touches_line(5));
        assert!(!diff.touches_line(11));
        assert_eq!(
            diff.changed_supplemental_keys().collect::<Vec<_>>(),
            ["ci/a:v1", "ci/new:v1", "ci/b:v1"]
        );
    }

    #[test]
    fn a_new_file_changes_everything() {
        let head = load(BASE);
        let changes = diff(&Config::default(), &head).changes;
        assert_eq!(changes.len(), 4);
        assert!(changes.iter().all(|c| c.kind == ChangeKind::Added));
    }

    #[test]
    fn a_branch_behind_its_base_is_held_only_to_its_own_changes() {
        // The base has since removed `ci/c:v1` and changed `ci/a:v1`; the pull request, branched
        // before that, only adds `ci/new:v1`.
        let base_now = "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v2\n";
        let head = "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v1\n  ci/c:v1:\n    image: quay.io/org/c:v1\n  ci/new:v1:\n    image: quay.io/org/new:v1\n";
        let merge = "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v2\n  ci/new:v1:\n    image: quay.io/org/new:v1\n";
        let (base_now, head, merge) = (load(base_now), load(head), load(merge));
        let against_head = diff(&base_now, &head);
        assert_eq!(against_head.changes.len(), 3);
        let ours = diff(&base_now, &merge);
        let kept = against_head.restricted_to(&ours);
        let kept: Vec<&str> = kept.changed_supplemental_keys().collect();
        assert_eq!(kept, ["ci/new:v1"]);
    }
}
