//! A file's text and the positions that point into it.

use std::fmt;

/// A place in a source file: 1-based line and column (in characters), and a width in characters
/// used to underline it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters (not bytes).
    pub column: u32,
    /// How many characters the underline covers; at least one is drawn.
    pub width: u32,
}

impl Span {
    /// A span of `width` characters starting at `line:column`.
    pub const fn new(line: u32, column: u32, width: u32) -> Self {
        Span {
            line,
            column,
            width,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A file that was read for checking: its display path and, once decoded, its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it; printed in every diagnostic.
    pub path: String,
    /// The decoded text; empty when the bytes were not UTF-8.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps already-decoded text.
    pub fn new(path: impl Into<String>, text: String) -> Self {
        let line_starts = std::iter::once(0).chain(line_ends(&text)).collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The text of 1-based `line` without its line ending, or `None` past the end.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *self.line_starts.get(index)?;
        let end = self
            .line_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.text.len());
        let text = &self.text[start..end];
        Some(text.trim_end_matches(['\n', '\r']))
    }

    /// The source text between two byte offsets, if they fall on character boundaries.
    pub fn slice(&self, start: usize, len: usize) -> Option<&str> {
        self.text.get(start..start.checked_add(len)?)
    }
}

/// The byte offsets just past each line break. YAML counts CR LF, a lone CR and LF as one
/// break each, and the parser's line numbers follow that rule, so ours must too.
fn line_ends(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        let lone_cr = b == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        (b == b'\n' || lone_cr).then_some(i + 1)
    })
}

/// Where the first invalid UTF-8 byte of `bytes` sits, as a span, for an encoding diagnostic.
pub fn utf8_error_span(bytes: &[u8], error: &std::str::Utf8Error) -> Span {
    let valid = &bytes[..error.valid_up_to()];
    // The prefix is valid UTF-8 by definition of `valid_up_to`.
    let prefix = std::str::from_utf8(valid).unwrap_or_default();
    let line = line_ends(prefix).count() + 1;
    let line_start = line_ends(prefix).last().unwrap_or(0);
    let column = prefix[line_start..].chars().count() + 1;
    Span::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_without_their_endings() {
        let file = SourceFile::new("f", "a: b\r\nc\n\nlast".to_string());
        assert_eq!(file.line(1), Some("a: b"));
        assert_eq!(file.line(2), Some("c"));
        assert_eq!(file.line(3), Some(""));
        assert_eq!(file.line(4), Some("last"));
        assert_eq!(file.line(5), None);
        assert_eq!(file.line(0), None);
    }

    #[test]
    fn a_lone_carriage_return_breaks_a_line_as_in_yaml() {
        // Found by fuzzing: the parser counted `\r` as a break and the snippet showed the wrong line.
        let file = SourceFile::new("f", "# c\rkey: v\r\nnext\n".to_string());
        assert_eq!(file.line(1), Some("# c"));
        assert_eq!(file.line(2), Some("key: v"));
        assert_eq!(file.line(3), Some("next"));
    }

    #[test]
    fn invalid_utf8_is_located_by_line_and_character() {
        let bytes: &[u8] = &[
            b'a', b':', b' ', 0xc3, 0xa9, b'\n', b'b', b'b', b':', b' ', 0xff,
        ];
        let error = std::str::from_utf8(std::hint::black_box(bytes)).unwrap_err();
        assert_eq!(utf8_error_span(bytes, &error), Span::new(2, 5, 1));
    }
}
