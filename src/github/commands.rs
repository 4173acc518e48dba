//! Workflow commands: escaping, annotations and the guards that keep config text inert.
//!
//! The runner reads commands from every line of the step's output (actions/runner
//! `ActionCommand.cs`), so any text from a pull request that reaches the log could become a
//! command (`::stop-commands::x` silently disables every later annotation). All command text is
//! built here, escaped exactly as `@actions/core` does, and raw echoes are fenced with
//! `::stop-commands::` and a random token.

use super::Finding;
use crate::diag::Severity;
use std::fmt::Write;

/// The runner shows at most this many annotations of each level per step (`ExecutionContext.cs`
/// `_maxCountPerIssueType`); the rest are silently dropped.
pub const MAX_ANNOTATIONS_PER_LEVEL: usize = 10;

/// Escapes the message part of a command (`@actions/core` `escapeData`), and breaks the
/// runner's legacy `##[` marker with an invisible word joiner: the runner looks for it anywhere
/// in a line that its `::` parser did not take, so no text of ours may carry one.
pub fn escape_data(text: &str) -> String {
    // `%` first, so the escapes added below are not escaped again.
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace("##[", "#\u{2060}#[")
}

/// Escapes a property value (`@actions/core` `escapeProperty`): data escaping plus `:` and `,`,
/// which would otherwise end the value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// An annotation level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Shown red; used for findings that fail the step.
    Error,
    /// Shown yellow.
    Warning,
    /// Shown blue.
    Notice,
}

impl Level {
    pub(crate) const fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// One annotation on one line of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// Its level.
    pub level: Level,
    /// Workspace-relative path.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based first column and the column just past the annotated text; `None` for the
    /// whole line.
    pub columns: Option<(u32, u32)>,
    /// Short title: the diagnostic code.
    pub title: String,
    /// The message, with the help line after it.
    pub message: String,
}

impl Annotation {
    /// The annotation for a finding. Blocking findings are errors; everything else is a
    /// warning, so a problem in an untouched entry never looks like the PR's fault.
    pub fn from_finding(finding: &Finding<'_>) -> Self {
        let d = finding.diagnostic;
        let level = if finding.blocking {
            Level::Error
        } else {
            Level::Warning
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            let _ = write!(message, "\nhelp: {help}");
        }
        if d.severity == Severity::Error && !finding.blocking {
            message.push_str("\n(not blocking: this entry is not changed by the pull request)");
        }
        Annotation {
            level,
            file: finding.path.to_owned(),
            line: d.span.line.max(1),
            columns: Some((
                d.span.column.max(1),
                d.span.column.max(1) + d.span.width.max(1),
            )),
            title: format!("qci-mirror: {}", d.code),
            message,
        }
    }

    /// An annotation on a whole line.
    pub fn on_line(level: Level, file: &str, line: u32, title: String, message: String) -> Self {
        Annotation {
            level,
            file: file.to_owned(),
            line: line.max(1),
            columns: None,
            title,
            message,
        }
    }

    /// The workflow command line (without a line break). The annotation always covers one
    /// line, the only case in which the runner keeps columns.
    pub fn to_command(&self) -> String {
        let columns = self
            .columns
            .map(|(start, end)| format!(",col={start},endColumn={end}"))
            .unwrap_or_default();
        format!(
            "::{} file={},line={},endLine={}{columns},title={}::{}",
            self.level.command(),
            escape_property(&self.file),
            self.line,
            self.line,
            escape_property(&self.title),
            escape_data(&self.message),
        )
    }
}

/// The annotations to print for findings given most important first: at most
/// [`MAX_ANNOTATIONS_PER_LEVEL`] of each level, plus the number left out.
pub fn select_annotations(findings: &[Finding<'_>]) -> (Vec<Annotation>, usize) {
    let mut shown = Vec::new();
    let (mut errors, mut warnings, mut omitted) = (0, 0, 0);
    for finding in findings {
        let annotation = Annotation::from_finding(finding);
        let count = match annotation.level {
            Level::Error => &mut errors,
            Level::Warning | Level::Notice => &mut warnings,
        };
        if *count < MAX_ANNOTATIONS_PER_LEVEL {
            *count += 1;
            shown.push(annotation);
        } else {
            omitted += 1;
        }
    }
    // The runner lists annotations in output order; errors first reads best.
    shown.sort_by_key(|a| a.level);
    (shown, omitted)
}

/// The text of a notice saying where the annotations that did not fit are, or nothing when all
/// fit.
pub fn omitted_notice(omitted: usize) -> Option<String> {
    (omitted > 0).then(|| {
        format!(
            "{omitted} more finding(s) are not shown inline (GitHub shows {MAX_ANNOTATIONS_PER_LEVEL} per level); the job summary lists all of them"
        )
    })
}

/// A fence that stops the runner from reading commands in text we must echo raw (for example
/// the human report, whose snippets quote the config). Commands resume at [`Self::end`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopCommands {
    token: String,
}

impl StopCommands {
    /// A fence with a fresh random token; the runner requires it to be unguessable from the
    /// fenced text, or that text could end the fence itself.
    pub fn new() -> Self {
        StopCommands {
            token: format!("qci-mirror-{}", super::random_hex()),
        }
    }

    /// The line that starts the fence.
    pub fn begin(&self) -> String {
        format!("::stop-commands::{}", self.token)
    }

    /// The line that ends it.
    pub fn end(&self) -> String {
        format!("::{}::", self.token)
    }
}

impl Default for StopCommands {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Diagnostic};
    use crate::source::Span;
    use std::collections::HashMap;

    /// A port of the runner's `ActionCommand.TryParseV2` and its un-escaping, to check that
    /// what we print means exactly what we meant.
    fn runner_parse(line: &str) -> Option<(String, HashMap<String, String>, String)> {
        let line = line.trim_start();
        let rest = line.strip_prefix("::")?;
        let end = rest.find("::")?;
        let (info, data) = (&rest[..end], &rest[end + 2..]);
        let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
        let unescape_property = |s: &str| {
            s.replace("%0D", "\r")
                .replace("%0A", "\n")
                .replace("%3A", ":")
                .replace("%2C", ",")
                .replace("%25", "%")
        };
        let mut props = HashMap::new();
        for pair in properties.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=')?;
            props.insert(key.to_ascii_lowercase(), unescape_property(value));
        }
        let data = data
            .replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%25", "%");
        Some((name.to_ascii_lowercase(), props, data))
    }

    #[test]
    fn escaping_matches_the_toolkit_vectors() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%d\r\n"), "a%3Ab%2Cc%25d%0D%0A");
        assert_eq!(escape_property("C:\\x,y=1"), "C%3A\\x%2Cy=1");
        assert_eq!(escape_data("%0A"), "%250A");
    }

    fn finding<'a>(d: &'a Diagnostic, path: &'a str, blocking: bool) -> Finding<'a> {
        Finding {
            path,
            diagnostic: d,
            in_changed_entry: blocking,
            blocking,
        }
    }

    #[test]
    fn injection_attempts_stay_inside_their_annotation() {
        let nasty = [
            "::stop-commands::pwned",
            "x\n::error::fake",
            "x\r\n::add-mask::secret",
            "%0A::error::decoded-too-early",
            "##[error]legacy",
            "a::b,c=d",
        ];
        for text in nasty {
            let d = Diagnostic::error(Code::InvalidImageReference, Span::new(3, 5, 4), text)
                .with_help(text);
            let path = "dir,with:odd=chars/_config.yaml";
            let line = Annotation::from_finding(&finding(&d, path, true)).to_command();
            assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
            let (name, props, data) = runner_parse(&line).unwrap();
            assert_eq!(name, "error");
            assert_eq!(props["file"], path);
            assert_eq!(props["line"], "3");
            assert_eq!(props["endline"], "3");
            assert_eq!(props["col"], "5");
            assert_eq!(props["endcolumn"], "9");
            assert_eq!(props["title"], "qci-mirror: invalid-image-reference");
            // Diagnostics already escape control characters; the command escaping keeps the
            // rest, and the help line, inside this one annotation, with `##[` broken.
            let shown = crate::diag::printable(text).replace("##[", "#\u{2060}#[");
            assert_eq!(data, format!("{shown}\nhelp: {shown}"));
            assert!(!line.contains("##["), "{line}");
        }
    }

    #[test]
    fn at_most_ten_per_level_errors_first_and_the_rest_counted() {
        let diagnostics: Vec<Diagnostic> = (1..=25)
            .map(|i| Diagnostic::error(Code::DockerHubSource, Span::new(i, 1, 1), "e"))
            .chain(
                (1..=3).map(|i| Diagnostic::warning(Code::UntaggedSource, Span::new(i, 1, 1), "w")),
            )
            .collect();
        // Warnings first in the input: selection must still put errors first in the output.
        let findings: Vec<Finding<'_>> = diagnostics
            .iter()
            .rev()
            .map(|d| finding(d, "_config.yaml", d.severity == Severity::Error))
            .collect();
        let (shown, omitted) = select_annotations(&findings);
        assert_eq!(shown.len(), 13);
        assert_eq!(omitted, 15);
        assert!(shown[..10].iter().all(|a| a.level == Level::Error));
        assert!(shown[10..].iter().all(|a| a.level == Level::Warning));
        let notice = omitted_notice(omitted).unwrap();
        let command = crate::github::console::Command::Say(Level::Notice, &notice).to_string();
        let (name, _, data) = runner_parse(&command).unwrap();
        assert_eq!(name, "notice");
        assert!(data.starts_with("15 more finding(s)"), "{data}");
        assert_eq!(omitted_notice(0), None);
    }

    #[test]
    fn untouched_errors_are_warnings_that_say_why() {
        let d = Diagnostic::error(Code::DockerHubSource, Span::new(2, 3, 4), "on Docker Hub");
        let annotation = Annotation::from_finding(&finding(&d, "_config.yaml", false));
        assert_eq!(annotation.level, Level::Warning);
        assert!(
            annotation
                .message
                .ends_with("not changed by the pull request)")
        );
    }

    #[test]
    fn masks_and_fences() {
        let mask = crate::github::console::Command::Mask("a\nb%").to_string();
        assert_eq!(mask, "::add-mask::a%0Ab%25");
        let fence = StopCommands::new();
        let other = StopCommands::new();
        assert_ne!(fence, other, "tokens must not repeat");
        let (name, _, token) = runner_parse(&fence.begin()).unwrap();
        assert_eq!(name, "stop-commands");
        assert!(
            token.len() > 6,
            "the runner masks tokens longer than 6 characters"
        );
        assert_eq!(fence.end(), format!("::{token}::"));
    }
}
