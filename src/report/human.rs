//! rustc-style output, drawn by annotate-snippets (the renderer of rustc and cargo):
//! `severity[code]: message`, ` --> path:line:col`, the source lines with carets and labels,
//! then `= help:`.
//!
//! Everything taken from a config reaches the renderer already escaped: messages, labels and
//! helps through [`crate::diag::printable`] when they are made, source lines here (a tab as one
//! space, any other control character as U+FFFD), so that with colour on, the only escape
//! sequences in the output are the renderer's own.

use crate::diag::{Diagnostic, Severity, printable};
use crate::source::{SourceFile, Span};
use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

/// Whether the output is drawn for a terminal, with ANSI colours, or as plain text. The CLI
/// decides (`--color`, `NO_COLOR`, whether stdout is a terminal); logs and files get `Plain`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// No escape sequences at all.
    #[default]
    Plain,
    /// Severity, code, gutter and carets in colour.
    Colored,
}

/// Renders every diagnostic of `file`, each followed by a blank line.
pub fn render(file: &SourceFile, diagnostics: &[Diagnostic], style: Style) -> String {
    let renderer = match style {
        // No hyperlinks either: an OSC 8 sequence is still an escape sequence.
        Style::Colored => Renderer::styled().hyperlink(false),
        Style::Plain => Renderer::plain(),
    };
    let path = printable(&file.path);
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&renderer.render(&[group(file, &path, diagnostic)]));
        out.push_str("\n\n");
    }
    out
}

fn group<'a>(file: &'a SourceFile, path: &'a str, d: &'a Diagnostic) -> Group<'a> {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level.primary_title(d.message.as_str()).id(d.code.as_str());
    // A snippet says where it is itself (` --> path:line:col` from the primary mark); without
    // one (a file that is not UTF-8, a place past the end) the origin stands alone.
    let mut group = match snippet(file, d) {
        Some(snippet) => title.element(snippet.path(path)),
        None => title.element(
            Origin::path(path)
                .line(d.span.line as usize)
                .char_column(d.span.column.max(1) as usize),
        ),
    };
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group
}

/// The lines from the first to the last place `d` points at (the renderer folds the ones in
/// between that carry no mark), with the primary mark and one per label. `None` when the file
/// has no text (not UTF-8) or the primary line is past its end.
fn snippet<'a>(
    file: &SourceFile,
    d: &'a Diagnostic,
) -> Option<Snippet<'a, annotate_snippets::Annotation<'a>>> {
    if file.text.is_empty() {
        return None;
    }
    file.line(d.span.line)?;
    let marks = std::iter::once((d.span, None))
        .chain(d.labels.iter().map(|l| (l.span, Some(l.message.as_str()))))
        .filter(|(span, _)| file.line(span.line).is_some());
    let spans: Vec<(Span, Option<&str>)> = marks.collect();
    let first = spans.iter().map(|(s, _)| s.line).min()?;
    let last = spans.iter().map(|(s, _)| s.line).max()?;

    let mut source = String::new();
    let mut starts = Vec::new();
    for line in first..=last {
        if line > first {
            source.push('\n');
        }
        starts.push(source.len());
        source.push_str(&shown(file.line(line).unwrap_or_default()));
    }
    let mut annotations = Vec::new();
    for (i, (span, label)) in spans.into_iter().enumerate() {
        let index = (span.line - first) as usize;
        let end = starts.get(index + 1).map_or(source.len(), |next| next - 1);
        let range = byte_range(&source[starts[index]..end], span);
        let range = starts[index] + range.start..starts[index] + range.end;
        let kind = if i == 0 {
            AnnotationKind::Primary
        } else {
            AnnotationKind::Context
        };
        annotations.push(kind.span(range).label(label));
    }
    Some(
        Snippet::source(source)
            .line_start(first as usize)
            .annotations(annotations),
    )
}

/// A source line as shown: a tab becomes one space, so that every column stays where the
/// parser counted it, and any other control character becomes U+FFFD, so that a file cannot
/// drive the terminal. One character for one, so character columns still hold.
fn shown(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// The byte range in `line` of `span`'s characters (columns count characters, the renderer
/// counts bytes), clamped to the line: a scalar that goes on to later lines is marked to the
/// end of its first, and a place past the end gets one mark just after the last character.
fn byte_range(line: &str, span: Span) -> std::ops::Range<usize> {
    let chars = line.chars().count();
    let start = ((span.column.max(1) - 1) as usize).min(chars);
    let end = (start + span.width.max(1) as usize).min(chars);
    let byte = |char_index: usize| {
        line.char_indices()
            .nth(char_index)
            .map_or(line.len(), |(b, _)| b)
    };
    byte(start)..byte(end.max(start))
}

/// `1 error`, `2 warnings`, `3 entries`, …
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        return format!("1 {what}");
    }
    // English: a consonant before a final `y` makes `-ies` (entry → entries, key → keys).
    let consonant_y = what
        .strip_suffix('y')
        .filter(|stem| stem.chars().last().is_some_and(|c| !"aeiou".contains(c)));
    match consonant_y {
        Some(stem) => format!("{n} {stem}ies"),
        None => format!("{n} {what}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    fn one(file: &SourceFile, d: Diagnostic, style: Style) -> String {
        render(file, &[d], style)
    }

    #[test]
    fn carets_count_characters_not_bytes_and_a_tab_is_one_column() {
        // `ſ` is two bytes; the parser counts it, and the tab, as one column each.
        let file = SourceFile::new("f.yaml", "a:\n\tſx: ſſ\n".to_string());
        let d = Diagnostic::warning(Code::FieldNameCase, Span::new(2, 5, 2), "m");
        assert_eq!(
            one(&file, d, Style::Plain),
            "warning[field-name-case]: m\n --> f.yaml:2:5\n  |\n2 |  ſx: ſſ\n  |     ^^\n\n"
        );
    }

    #[test]
    fn a_span_running_past_its_line_is_marked_to_the_end_of_it() {
        // A scalar that goes on to the next lines, and a place just after the last character.
        let file = SourceFile::new("f.yaml", "k: |\n  one\n  two\n".to_string());
        let long = Diagnostic::error(Code::YamlSyntax, Span::new(2, 3, 20), "m");
        assert!(
            one(&file, long, Style::Plain).contains("2 |   one\n  |   ^^^\n"),
            "clamped"
        );
        let after = Diagnostic::error(Code::YamlSyntax, Span::new(1, 5, 1), "m");
        let text = one(&file, after, Style::Plain);
        assert!(text.contains(" --> f.yaml:1:5\n"), "{text}");
        assert!(text.contains("1 | k: |\n  |     ^\n"), "{text}");
    }

    #[test]
    fn labels_and_a_help_of_several_lines_keep_their_place() {
        let file = SourceFile::new("f.yaml", "a: 1\nb: 2\na: 3\n".to_string());
        let d = Diagnostic::error(Code::DuplicateKey, Span::new(3, 1, 1), "twice")
            .with_label(Span::new(1, 1, 1), "first defined here")
            .with_help_lines("paste:\n  a: 4");
        assert_eq!(
            one(&file, d, Style::Plain),
            "error[duplicate-key]: twice\n --> f.yaml:3:1\n  |\n1 | a: 1\n  | - first defined here\n\
             2 | b: 2\n3 | a: 3\n  | ^\n  |\n  = help: paste:\n            a: 4\n\n"
        );
    }

    #[test]
    fn without_text_only_the_place_is_shown() {
        // Not UTF-8, or a place past the end of the file.
        let file = SourceFile::new("f.yaml", String::new());
        let d = Diagnostic::error(Code::InvalidEncoding, Span::new(3, 7, 1), "bytes")
            .with_help("save as UTF-8");
        assert_eq!(
            one(&file, d, Style::Plain),
            "error[invalid-encoding]: bytes\n--> f.yaml:3:7\n = help: save as UTF-8\n\n"
        );
    }

    #[test]
    fn colour_never_lets_config_text_carry_an_escape_sequence() {
        let file = SourceFile::new("f\u{1b}]0;x.yaml", "k: \u{1b}[2Jv\u{7}\n".to_string());
        let d = Diagnostic::error(Code::YamlSyntax, Span::new(1, 4, 3), "`\u{1b}[2Jv`")
            .with_label(Span::new(1, 1, 1), "\u{1b}[31m")
            .with_help("\u{9b}2J");
        for style in [Style::Plain, Style::Colored] {
            let text = one(&file, d.clone(), style);
            // Only the renderer's own colour sequences: ESC `[`, digits and `;`, then `m`.
            let mut rest = text.as_str();
            while let Some(at) = rest.find('\u{1b}') {
                rest = &rest[at + 1..];
                let sgr = rest
                    .strip_prefix('[')
                    .and_then(|r| r.split_once('m'))
                    .is_some_and(|(params, _)| {
                        params.chars().all(|c| c.is_ascii_digit() || c == ';')
                    });
                assert!(sgr, "{style:?}: {text:?}");
                assert!(
                    !rest.starts_with("[2J") && !rest.starts_with("[31m"),
                    "{text:?}"
                );
            }
            assert!(
                !text.contains('\u{9b}') && !text.contains('\u{7}'),
                "{text:?}"
            );
            assert!(text.contains("k: \u{FFFD}[2Jv\u{FFFD}"), "{text:?}");
            assert!(text.contains("\\u{1b}[2Jv"), "{text:?}");
            assert_eq!(style == Style::Colored, text.contains('\u{1b}'), "{text:?}");
        }
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(count(1, "entry"), "1 entry");
        assert_eq!(count(7, "entry"), "7 entries");
        assert_eq!(count(2, "key"), "2 keys");
        assert_eq!(count(0, "error"), "0 errors");
    }
}
