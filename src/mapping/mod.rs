//! The deprecated mapping files (`oc image mirror -f` syntax) that `_config.yaml` replaced:
//! `SOURCE TARGET [TARGET…]` per line, whitespace-separated, `#` comment lines and blank lines.
//! In `mapping_supplemental_ci_images_<ns>` files every target must be in the app.ci namespace
//! the file name implies (`_` read as `-`).

pub mod added;
pub mod check;
pub mod migrate;

use crate::source::{SourceFile, Span};

/// The registry supplemental mapping files mirror into (app.ci).
pub const APP_CI_REGISTRY: &str = "registry.ci.openshift.org";

const SUPPLEMENTAL_PREFIX: &str = "mapping_supplemental_ci_images_";

/// A word of a mapping line and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The text.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// One `SOURCE TARGET…` line. A line with a source and no target is kept (and reported).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingLine {
    /// The image mirrored.
    pub source: Word,
    /// Where it goes.
    pub targets: Vec<Word>,
}

/// A parsed mapping file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingFile {
    /// The app.ci namespace a supplemental file's name implies, like `ci` or `my-team`.
    pub namespace: Option<String>,
    /// Every line that is neither blank nor a comment, in order.
    pub lines: Vec<MappingLine>,
}

/// The namespace implied by a supplemental mapping file's name, like `chaos` for
/// `mapping_supplemental_ci_images_chaos`.
pub fn namespace_of(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_prefix(SUPPLEMENTAL_PREFIX)
        .filter(|ns| !ns.is_empty())
        .map(|ns| ns.replace('_', "-"))
}

/// Whether a file is a mapping file rather than a YAML config: by name (`mapping_…`, the
/// folder's naming rule), else by content (its first meaningful line is two or more pull
/// specs, which YAML would read as one plain string).
pub fn is_mapping_file(path: &str, text: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if name.starts_with("mapping_") {
        return true;
    }
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        return false;
    }
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.len() >= 2
                && words
                    .iter()
                    .all(|w| w.contains('/') && !w.ends_with(':') && !w.starts_with('-'))
        })
}

/// Reads a mapping file; nothing in it is rejected here (the checks say what is wrong).
pub fn parse(file: &SourceFile) -> MappingFile {
    let mut lines = Vec::new();
    // Line by line as `SourceFile` counts them (a lone CR breaks a line too), so that every
    // span points where the snippet shows it.
    for (number, line) in (1..).map_while(|n| file.line(n).map(|line| (n, line))) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut words = words_of(line, number).into_iter();
        if let Some(source) = words.next() {
            lines.push(MappingLine {
                source,
                targets: words.collect(),
            });
        }
    }
    MappingFile {
        namespace: namespace_of(&file.path),
        lines,
    }
}

/// The whitespace-separated words of `line`, with 1-based character columns.
fn words_of(line: &str, number: u32) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Option<(u32, String)> = None;
    for (index, ch) in line.chars().enumerate() {
        let column = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if ch.is_whitespace() {
            if let Some((start, text)) = current.take() {
                words.push(word(number, start, text));
            }
        } else {
            current
                .get_or_insert_with(|| (column, String::new()))
                .1
                .push(ch);
        }
    }
    if let Some((start, text)) = current {
        words.push(word(number, start, text));
    }
    words
}

fn word(line: u32, column: u32, text: String) -> Word {
    let width = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    Word {
        span: Span::new(line, column, width),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_come_from_the_file_name() {
        assert_eq!(
            namespace_of("a/b/mapping_supplemental_ci_images_chaos").as_deref(),
            Some("chaos")
        );
        assert_eq!(
            namespace_of("mapping_supplemental_ci_images_my_team").as_deref(),
            Some("my-team")
        );
        assert_eq!(namespace_of("mapping_origin_metallb-5_2"), None);
        assert_eq!(namespace_of("mapping_supplemental_ci_images_"), None);
    }

    #[test]
    fn mapping_files_are_told_from_configs() {
        assert!(is_mapping_file("x/mapping_origin_4_9", ""));
        assert!(is_mapping_file(
            "odd-name",
            "# c\n\nquay.io/a/b:1 registry.ci.openshift.org/ci/b:1\n"
        ));
        assert!(!is_mapping_file(
            "_config.yaml",
            "quay.io/a:1 quay.io/b:1\n"
        ));
        assert!(!is_mapping_file(
            "cfg",
            "supplementalCIImages:\n  ci/a:b:\n"
        ));
        assert!(!is_mapping_file("cfg", "- quay.io/a:1 quay.io/b:1\n"));
    }

    #[test]
    fn lines_keep_their_words_and_positions() {
        let file = SourceFile::new(
            "mapping_supplemental_ci_images_ci",
            "# a comment\n\n  quay.io/a/b:1\tregistry.ci.openshift.org/ci/b:1 x\n#docker.io/c:1 t\nlonely\n"
                .to_owned(),
        );
        let parsed = parse(&file);
        assert_eq!(parsed.namespace.as_deref(), Some("ci"));
        assert_eq!(parsed.lines.len(), 2);
        let first = &parsed.lines[0];
        assert_eq!(first.source.text, "quay.io/a/b:1");
        assert_eq!(first.source.span, Span::new(3, 3, 13));
        assert_eq!(first.targets.len(), 2);
        assert_eq!(first.targets[0].span, Span::new(3, 17, 32));
        assert_eq!(first.targets[1].text, "x");
        assert_eq!(parsed.lines[1].source.text, "lonely");
        assert!(parsed.lines[1].targets.is_empty());
    }
}
