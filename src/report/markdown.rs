//! Markdown for job summaries: text from a config or a server made safe in a table cell.

/// Makes untrusted text inert inside a GFM table cell: it can neither end the cell or row nor
/// start HTML, a link, a code span or emphasis.
///
/// Entities rather than backslash escapes, because a backslash from the input would pair with an
/// added one (`\|` → `\\|`, a literal backslash and a real pipe); the backslash itself is
/// encoded for the same reason. Line breaks become `<br>` so the value keeps its shape on one
/// table row; other control characters are shown escaped, as in every other output.
pub fn escape_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '\\' => out.push_str("&#92;"),
            // GFM strikethrough and GitHub's inline math.
            '~' => out.push_str("&#126;"),
            '$' => out.push_str("&#36;"),
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            c if c.is_control() => out.extend(c.escape_debug()),
            c => out.push(c),
        }
    }
    out
}
