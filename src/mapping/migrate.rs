//! `qci-mirror migrate`: the `supplementalCIImages` entries equivalent to mapping-file lines,
//! printed, or appended to `_config.yaml` in place (its comments and order untouched). Lines
//! that cannot be expressed, or that would collide with an entry, are listed with the reason;
//! lines `_config.yaml` already has are skipped, so a second run changes nothing.

use super::check::{config_key, same_image};
use super::{MappingFile, parse};
use crate::config::model::Config;
use crate::qci::render_qci_tag;
use crate::reference::parse_image;
use crate::rules::Options;
use crate::source::SourceFile;
use std::collections::HashMap;

/// One entry to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// `namespace/name:tag`.
    pub key: String,
    /// The source pull spec.
    pub image: String,
    /// The mapping file and line it comes from.
    pub from: (String, u32),
}

/// A line (or one target of it) left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The mapping file.
    pub path: String,
    /// The line.
    pub line: u32,
    /// Why.
    pub reason: String,
}

/// What a migration would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Migration {
    /// Entries to add, in mapping-file order.
    pub add: Vec<NewEntry>,
    /// Targets `_config.yaml` already has with the same source.
    pub present: Vec<Skipped>,
    /// Targets that cannot be migrated.
    pub refused: Vec<Skipped>,
}

/// Plans the migration of `mappings` into `config`.
pub fn plan(config: &Config, mappings: &[SourceFile], options: &Options) -> Migration {
    let parsed: Vec<(&str, MappingFile)> = mappings
        .iter()
        .map(|file| (file.path.as_str(), parse(file)))
        .collect();
    plan_parsed(config, &parsed, options)
}

/// Plans the migration of parsed mapping files, given as `(path, file)`, into `config`.
pub fn plan_parsed(
    config: &Config,
    mappings: &[(&str, MappingFile)],
    options: &Options,
) -> Migration {
    // QCI tag → (key, source) of what the config defines, then of what this run adds.
    let mut taken: HashMap<String, (String, Option<String>)> = config
        .supplemental_entries()
        .map(|entry| {
            (
                render_qci_tag(&entry.key.value),
                (
                    entry.key.value.clone(),
                    entry.body.source().map(|s| options.source_pull_spec(s)),
                ),
            )
        })
        .collect();
    let mut migration = Migration::default();
    for (path, parsed) in mappings {
        for line in &parsed.lines {
            let number = line.source.span.line;
            let skip = |reason: String| Skipped {
                path: (*path).to_owned(),
                line: number,
                reason,
            };
            let written = &line.source.text;
            let source = match parse_image(written) {
                Err(error) => {
                    migration.refused.push(skip(format!(
                        "the source `{written}` is not a valid pull spec: {error}"
                    )));
                    continue;
                }
                Ok(image) if image.is_docker_hub() => {
                    migration.refused.push(skip(format!(
                        "the source `{written}` is on Docker Hub, which cannot be mirrored"
                    )));
                    continue;
                }
                // An untagged source means `latest`; the entry says so rather than leaving a
                // reader (and `untagged-source`) to guess.
                Ok(image) if image.is_untagged() => format!("{written}:latest"),
                Ok(_) => written.clone(),
            };
            if line.targets.is_empty() {
                migration
                    .refused
                    .push(skip("the line has no target".to_owned()));
            }
            for target in &line.targets {
                match place(&mut taken, &target.text, &source) {
                    Ok(Some(key)) => migration.add.push(NewEntry {
                        key,
                        image: source.clone(),
                        from: ((*path).to_owned(), number),
                    }),
                    Ok(None) => migration.present.push(skip(format!(
                        "`{}` is in `_config.yaml` already",
                        config_key(&target.text).unwrap_or_default()
                    ))),
                    Err(reason) => migration.refused.push(skip(reason.to_string())),
                }
            }
        }
    }
    migration
}

/// Why a mapping line's target cannot become an entry.
#[derive(Debug, thiserror::Error)]
enum Unplaceable {
    /// The config only expresses app.ci targets.
    #[error(
        "the target `{0}` is not an app.ci image `registry.ci.openshift.org/<namespace>/<name>:<tag>`, which is all `_config.yaml` can express"
    )]
    NotAppCi(String),
    /// The key exists, with another source.
    #[error("`{key}` is in `_config.yaml` already, from another source (`{theirs}`)")]
    OtherSource { key: String, theirs: String },
    /// Another key renders the same QCI tag.
    #[error("`{key}` renders the QCI tag `{tag}` of `{existing}` (from `{theirs}`)")]
    SameTag {
        key: String,
        tag: String,
        existing: String,
        theirs: String,
    },
}

/// Where a mapping line's `target` goes: the key of a new entry (`Some`), nothing because the
/// config has it already (`None`), or why it cannot be migrated. `taken` maps QCI tags to the
/// key and source that hold them, this run's additions included.
fn place(
    taken: &mut HashMap<String, (String, Option<String>)>,
    target: &str,
    source: &str,
) -> Result<Option<String>, Unplaceable> {
    let Some(key) = config_key(target) else {
        return Err(Unplaceable::NotAppCi(target.to_owned()));
    };
    let tag = render_qci_tag(&key);
    match taken.get(&tag) {
        Some((existing, Some(existing_source)))
            if *existing == key && same_image(existing_source, source) =>
        {
            Ok(None)
        }
        Some((existing, existing_source)) => {
            let theirs = existing_source
                .as_deref()
                .unwrap_or("an imagestreamtag")
                .to_owned();
            Err(if *existing == key {
                Unplaceable::OtherSource { key, theirs }
            } else {
                Unplaceable::SameTag {
                    key,
                    tag,
                    existing: existing.clone(),
                    theirs,
                }
            })
        }
        None => {
            taken.insert(tag, (key.clone(), Some(source.to_owned())));
            Ok(Some(key))
        }
    }
}

/// The entries as `supplementalCIImages` YAML, indented like `config`'s (two spaces by default).
pub fn render(entries: &[NewEntry], config: Option<&Config>) -> String {
    let (key_indent, field_indent) = config.map_or((2, 4), indentation);
    let mut text = String::new();
    for entry in entries {
        text.push_str(&format!(
            "{:key_indent$}{}:\n{:field_indent$}image: {}\n",
            "", entry.key, "", entry.image
        ));
    }
    text
}

/// Columns (0-based) of the keys and the fields of `config`'s supplemental entries.
fn indentation(config: &Config) -> (usize, usize) {
    let first = config.supplemental_entries().next();
    let key = first.map_or(2, |e| e.key.span.column as usize - 1);
    let field = first
        .and_then(|e| e.body.fields().first())
        .map_or(key + 2, |f| f.name.span.column as usize - 1);
    (key, field)
}

/// Why entries cannot be written into a config in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    /// Line breaks the writer would not reproduce.
    #[error("the config breaks lines with a lone CR; convert it to LF line breaks first")]
    LoneCr,
    /// Nowhere to append.
    #[error(
        "the config has no `supplementalCIImages` entry to append after; add the section first"
    )]
    NoEntry,
}

/// `text` (the config `config` was loaded from) with `entries` appended after the last
/// supplemental entry: every other byte stays as it was.
pub fn insert(text: &str, config: &Config, entries: &[NewEntry]) -> Result<String, InsertError> {
    if text.replace("\r\n", "").contains('\r') {
        return Err(InsertError::LoneCr);
    }
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let last = config
        .supplemental_entries()
        .last()
        .ok_or(InsertError::NoEntry)?;
    let last_line = last
        .body
        .fields()
        .iter()
        .map(|f| f.value_span.line.max(f.name.span.line))
        .chain(std::iter::once(last.key.span.line))
        .max()
        .unwrap_or(last.key.span.line) as usize;
    // Byte offset just past `last_line` and its line break.
    let mut offset = 0;
    for (index, piece) in text.split_inclusive('\n').enumerate() {
        offset += piece.len();
        if index + 1 == last_line {
            break;
        }
    }
    let mut out = String::with_capacity(text.len() + 64 * entries.len());
    out.push_str(&text[..offset]);
    if !out.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(&render(entries, Some(config)).replace('\n', eol));
    out.push_str(&text[offset..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (SourceFile, Config) {
        let file = SourceFile::new("_config.yaml", text.to_owned());
        let (config, _) = crate::config::load(&file);
        (file, config)
    }

    fn mapping(text: &str) -> SourceFile {
        SourceFile::new("mapping_supplemental_ci_images_ci", text.to_owned())
    }

    #[test]
    fn lines_become_entries_and_the_rest_says_why_not() {
        let (_, config) = config(
            "supplementalCIImages:\n  ci/a:1:\n    image: quay.io/x/a:1\n  ci/b:1:\n    image: quay.io/x/b:1\n",
        );
        let migration = plan(
            &config,
            &[mapping(
                "\
quay.io/x/a:1 registry.ci.openshift.org/ci/a:1
quay.io/y/b:1 registry.ci.openshift.org/ci/b:1
quay.io/x/c:1 registry.ci.openshift.org/ci/c:1
docker.io/x/d:1 registry.ci.openshift.org/ci/d:1
quay.io/x/e:1 quay.io/elsewhere/e:1
quay.io/x/f:1 registry.ci.openshift.org/ci/c:1
",
            )],
            &Options::default(),
        );
        assert_eq!(
            migration.add,
            [NewEntry {
                key: "ci/c:1".into(),
                image: "quay.io/x/c:1".into(),
                from: ("mapping_supplemental_ci_images_ci".into(), 3)
            }]
        );
        assert_eq!(migration.present.len(), 1);
        let refused: Vec<u32> = migration.refused.iter().map(|s| s.line).collect();
        assert_eq!(refused, [2, 4, 5, 6]);
        assert_eq!(
            migration.refused[0].reason,
            "`ci/b:1` is in `_config.yaml` already, from another source (`quay.io/x/b:1`)"
        );
    }

    #[test]
    fn entries_are_appended_after_the_last_one_and_nothing_else_moves() {
        let text = "# head comment\nsupplementalCIImages:\n    ci/a:1:   # note\n        image: quay.io/x/a:1\n# between\nqciToAppCIImages: {}\n";
        let (_, config) = config(text);
        let entries = [NewEntry {
            key: "ci/c:1".into(),
            image: "quay.io/x/c:1".into(),
            from: ("m".into(), 1),
        }];
        assert_eq!(
            insert(text, &config, &entries).unwrap(),
            "# head comment\nsupplementalCIImages:\n    ci/a:1:   # note\n        image: quay.io/x/a:1\n    ci/c:1:\n        image: quay.io/x/c:1\n# between\nqciToAppCIImages: {}\n"
        );
        let (_, empty) = self::config("qciToAppCIImages: {}\n");
        assert!(insert("qciToAppCIImages: {}\n", &empty, &entries).is_err());
    }
}
