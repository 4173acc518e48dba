//! rustc-style output: `path:line:col: severity[code]: message`, then the line with a caret.

use crate::diag::{Diagnostic, Label};
use crate::source::{SourceFile, Span};
use std::fmt::Write;

/// Renders every diagnostic of `file`, each followed by a blank line.
pub fn render(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        render_one(&mut out, file, diagnostic);
        out.push('\n');
    }
    out
}

fn render_one(out: &mut String, file: &SourceFile, d: &Diagnostic) {
    let _ = writeln!(
        out,
        "{}:{}:{}: {}[{}]: {}",
        file.path, d.span.line, d.span.column, d.severity, d.code, d.message
    );
    let widest_line = d
        .labels
        .iter()
        .map(|l| l.span.line)
        .chain([d.span.line])
        .max()
        .unwrap_or(1);
    let gutter = widest_line.to_string().len();
    let pad = " ".repeat(gutter);
    snippet(out, file, d.span, '^', None, &pad);
    for Label { span, message } in &d.labels {
        snippet(out, file, *span, '-', Some(message), &pad);
    }
    if let Some(help) = &d.help {
        // A help of several lines (an entry to paste) keeps its shape under the first.
        let help = help.replace('\n', &format!("\n{pad}         "));
        let _ = writeln!(out, "{pad} = help: {help}");
    }
}

/// Lines longer than this are shown as a window around the column, so that a minified or
/// generated file cannot flood the terminal.
const MAX_SHOWN_CHARS: usize = 120;
/// How much of the line before the column such a window keeps.
const CONTEXT_BEFORE: usize = 40;

fn snippet(
    out: &mut String,
    file: &SourceFile,
    span: Span,
    mark: char,
    label: Option<&str>,
    pad: &str,
) {
    let Some(text) = file.line(span.line).filter(|_| !file.text.is_empty()) else {
        return;
    };
    // Tabs would shift the caret; one space keeps every column where the parser counted it.
    // Other control characters are shown as U+FFFD so a file cannot drive the terminal.
    let chars: Vec<char> = text
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let column = (span.column.max(1) - 1) as usize;
    let (first, last) = if chars.len() <= MAX_SHOWN_CHARS {
        (0, chars.len())
    } else {
        let first = column.saturating_sub(CONTEXT_BEFORE).min(chars.len());
        (first, (first + MAX_SHOWN_CHARS).min(chars.len()))
    };
    let mut shown: String = chars[first..last].iter().collect();
    let mut indent = column.saturating_sub(first);
    if first > 0 {
        shown.insert(0, '…');
        indent += 1;
    }
    if last < chars.len() {
        shown.push('…');
    }
    let room = last.saturating_sub(column.max(first)).max(1);
    let width = (span.width.max(1) as usize).min(room);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{:>w$} | {shown}", span.line, w = pad.len());
    let marks: String = std::iter::repeat_n(mark, width).collect();
    let indent = " ".repeat(indent);
    match label {
        Some(label) => {
            let _ = writeln!(out, "{pad} | {indent}{marks} {label}");
        }
        None => {
            let _ = writeln!(out, "{pad} | {indent}{marks}");
        }
    }
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
    use super::count;

    #[test]
    fn counts_read_as_english() {
        assert_eq!(count(1, "entry"), "1 entry");
        assert_eq!(count(7, "entry"), "7 entries");
        assert_eq!(count(2, "key"), "2 keys");
        assert_eq!(count(0, "error"), "0 errors");
    }
}
