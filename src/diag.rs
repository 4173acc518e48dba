//! Diagnostics: what a check found, where, and how bad it is.

use crate::source::Span;
use std::fmt;

/// How serious a finding is. Errors fail `validate` (exit 1); warnings never do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The entry is wrong and must be fixed.
    Error,
    /// The entry works, but probably not as its author meant.
    Warning,
}

impl Severity {
    /// The lower-case name printed in output (`error`, `warning`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($variant:ident => $name:literal, $summary:literal;)*) => {
        /// A stable identifier for each kind of finding. The kebab-case name is part of the
        /// output contract (human, JSON, annotations) and is documented in `docs/rules.md`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $(#[doc = $summary] $variant,)* }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable kebab-case name, e.g. `docker-hub-source`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line saying what the code is about.
            pub const fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    InvalidEncoding => "invalid-encoding", "The file is not UTF-8 text.";
    FileTooLarge => "file-too-large", "The file is larger than any plausible config.";
    YamlSyntax => "yaml-syntax", "The file is not well-formed YAML.";
    YamlTooComplex => "yaml-too-complex", "Aliases or nesting expand past the parser's resource budget.";
    WrongType => "wrong-type", "A value has the wrong YAML type (a list where a mapping belongs, …).";
    DuplicateKey => "duplicate-key", "A mapping names the same key twice.";
    UnknownField => "unknown-field", "A field that the config schema does not have.";
    FieldNameCase => "field-name-case", "A field name spelled in another case, which ci-images-mirror reads as the field anyway.";
    InvalidTarget => "invalid-target", "A key that is not `namespace/name:tag`.";
    InvalidQciTag => "invalid-qci-tag", "The QCI tag rendered from a key is not a valid registry tag.";
    QciTagCollision => "qci-tag-collision", "Two keys render to the same QCI tag.";
    TargetPromoted => "target-promoted", "A key whose QCI tag a ci-operator config promotes to.";
    InvalidSource => "invalid-source", "A source that is not exactly one of `image:` or `namespace`/`name`/`tag`.";
    UnquotedScalar => "unquoted-scalar", "An unquoted value that YAML 1.1 reads as a number, boolean or null.";
    InvalidImageReference => "invalid-image-reference", "An `image:` that is not a valid pull spec.";
    DockerHubSource => "docker-hub-source", "A source on Docker Hub, which is rate-limited and refused.";
    UntaggedSource => "untagged-source", "An `image:` with neither tag nor digest, which silently means `latest`.";
    IgnoredSource => "ignored-source", "An entry whose source is in `ignoredSources`, so it is never mirrored.";
    InvalidArtImage => "invalid-art-image", "An `artImages` item without its required `namespace` or `name`.";
    InvalidArtRegex => "invalid-art-regex", "An `artImages` `name` or `tag` that is not a valid regular expression.";
    InvalidQciSource => "invalid-qci-source", "A `qciToAppCIImages` value other than empty or an `image:` in QCI.";
    MappingSyntax => "mapping-syntax", "A mapping-file line that is not `SOURCE TARGET [TARGET…]`.";
    MappingTargetNamespace => "mapping-target-namespace", "A mapping-file target outside the namespace its file name implies.";
    MappingDuplicateTarget => "mapping-duplicate-target", "A mapping-file target named on two lines.";
    MappingTargetDefined => "mapping-target-defined", "A mapping-file target that `_config.yaml` defines too.";
    MappingLineAdded => "mapping-line-added", "A line a pull request adds to a deprecated mapping file.";
    SourceNotFound => "source-not-found", "A changed entry's source does not exist in its registry.";
    SourcePrivate => "source-private", "A changed entry's source cannot be pulled anonymously (or with the pull credentials given).";
    SourceWrongPlatform => "source-wrong-platform", "A changed entry's source has no linux/amd64 image.";
    TargetExists => "target-exists", "A new entry's QCI tag already holds an image, which mirroring would overwrite.";
    RegistryUnreachable => "registry-unreachable", "A registry could not answer a network check, so the check was skipped.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A second place that explains the first, such as the other key of a collision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is there.
    pub message: String,
}

/// One finding at one place in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of finding.
    pub code: Code,
    /// How serious.
    pub severity: Severity,
    /// One sentence, complete without the source snippet (annotations show only this).
    pub message: String,
    /// The offending text.
    pub span: Span,
    /// Other places worth seeing.
    pub labels: Vec<Label>,
    /// How to fix it, when there is a clear fix.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with `code` at `span`.
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, span, message)
    }

    /// A warning with `code` at `span`.
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, span, message)
    }

    fn new(code: Code, severity: Severity, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: printable(&message.into()),
            span,
            labels: Vec::new(),
            help: None,
        }
    }

    /// Adds a fix suggestion.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(printable(&help.into()));
        self
    }

    /// Adds a fix suggestion of several lines (such as a config entry to paste), each made
    /// printable on its own so that the line breaks stay.
    #[must_use]
    pub fn with_help_lines(mut self, help: &str) -> Self {
        let lines: Vec<String> = help.lines().map(printable).collect();
        self.help = Some(lines.join("\n"));
        self
    }

    /// Adds a secondary place.
    #[must_use]
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: printable(&message.into()),
        });
        self
    }
}

/// Text from a config with control characters escaped (`\n`, `\u{1b}`), so that a message stays
/// one line and no value can drive a terminal or a log parser.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// At most this many characters of a body a server answered are quoted in a message.
pub const EXCERPT_CHARS: usize = 200;

/// Text a server answered, fit to quote in one line of a message: control characters and
/// runs of whitespace become single spaces, and at most [`EXCERPT_CHARS`] characters are kept.
pub fn excerpt(text: &str) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

/// Puts diagnostics in a stable order (position, then code, then text) and drops exact repeats,
/// A size as every report shows it, in the copy engine's errors too: `12.5 MiB`.
pub fn mebibytes(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.1} MiB")
}

/// so output never depends on hash-map order.
pub fn sort_and_dedup(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (a.span, a.code, &a.message, a.severity).cmp(&(b.span, b.code, &b.message, b.severity))
    });
    diagnostics.dedup();
}

/// Counts of errors and warnings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
}

impl Tally {
    /// Counts `diagnostics` by severity.
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        Tally {
            errors,
            warnings: diagnostics.len() - errors,
        }
    }

    /// Adds another tally to this one.
    pub fn add(&mut self, other: Tally) {
        self.errors += other.errors;
        self.warnings += other.warnings;
    }
}

/// A word joiner: invisible in the log, but not whitespace, so the runner's `TrimStart` keeps
/// it and a line that carries it first cannot start with `::`.
const JOINER: char = '\u{2060}';

/// Text made safe to print as log lines, line breaks kept: in every line, control characters
/// are shown escaped (`\r`, `\u{1b}`: no line is split, no terminal sequence runs), the legacy
/// `##[` marker is broken, and a line that would start with `::` starts with a word joiner.
pub fn inert(text: &str) -> String {
    text.split('\n')
        .map(inert_line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`inert`] for text that must stay on one line: line feeds are shown as `\n` too.
pub fn inert_line(text: &str) -> String {
    let shown = printable(text).replace("##[", "#\u{2060}#[");
    if shown.trim_start().starts_with("::") {
        format!("{JOINER}{shown}")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_server_answer_is_quoted_as_one_short_line() {
        let body = format!("first line\r\n\t{}\u{1b}[2J", "x".repeat(1_000));
        let quoted = excerpt(&body);
        assert!(quoted.starts_with("first line xxx"), "{quoted}");
        assert_eq!(quoted.chars().count(), EXCERPT_CHARS + 1);
        assert!(quoted.ends_with('…'));
        assert!(!quoted.chars().any(char::is_control), "{quoted:?}");
        assert_eq!(excerpt("  short  answer \n"), "short answer");
    }

    #[test]
    fn messages_never_carry_raw_control_characters() {
        let d = Diagnostic::error(Code::YamlSyntax, Span::new(1, 1, 1), "a\nb\u{1b}[31m")
            .with_help("x\ry")
            .with_label(Span::new(1, 1, 1), "\u{7}");
        assert_eq!(d.message, "a\\nb\\u{1b}[31m");
        assert_eq!(d.help.as_deref(), Some("x\\ry"));
        assert_eq!(d.labels[0].message, "\\u{7}");
    }

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "duplicate code {name}");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name} is not kebab-case"
            );
            assert!(!name.starts_with('-') && !name.ends_with('-'));
        }
    }
}
