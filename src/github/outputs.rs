//! Step outputs written to `GITHUB_OUTPUT`.
//!
//! The runner reads the file after the step (`FileCommandManager.cs`): `name=value` lines, or
//! `name<<DELIM` followed by the value and a line that is exactly `DELIM`. Values can come from
//! the pull request, so the delimiter is random per value: a fixed one (`EOF`) would let a value
//! containing that line end the heredoc early and set outputs of its own.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// Appends `outputs` to the runner's output file at `path` (normally `$GITHUB_OUTPUT`).
///
/// Single-line values are written as `name=value`, others in the heredoc form with a fresh
/// `ghadelimiter_…` delimiter, as `@actions/core` does. Line ends are always LF, and a CR LF
/// inside a value becomes LF, so every runner reads the same lines.
///
/// # Errors
///
/// `InvalidInput` for a name that is empty or contains `=`, `<`, CR or LF (the runner would read
/// it as a different name or a different form); nothing is written then. Otherwise any error
/// from opening or writing the file.
pub fn write_outputs(path: &Path, outputs: &[(&str, &str)]) -> io::Result<()> {
    let mut text = String::new();
    for &(name, value) in outputs {
        check_name(name)?;
        push_output(&mut text, name, value, random_delimiter);
    }
    // Append: earlier steps' outputs, and those of other writers in this step, stay. One write,
    // so a failure part-way cannot leave a heredoc open for the next writer.
    let mut file = OpenOptions::new().append(true).create(true).open(path)?;
    file.write_all(text.as_bytes())
}

fn check_name(name: &str) -> io::Result<()> {
    // `=` or `<<` in a name would move where the runner splits the line; a line break would end it.
    if name.is_empty() || name.contains(['=', '<', '\n', '\r']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid step output name {name:?}: it must be non-empty without `=`, `<` or line breaks"
            ),
        ));
    }
    Ok(())
}

fn push_output(out: &mut String, name: &str, value: &str, delimiter: impl FnMut() -> String) {
    if !value.contains(['\n', '\r']) {
        out.push_str(name);
        out.push('=');
        out.push_str(value);
        out.push('\n');
        return;
    }
    let value = normalize_line_ends(value);
    let delimiter = pick_delimiter(name, &value, delimiter);
    for part in [name, "<<", &delimiter, "\n", &value, "\n", &delimiter, "\n"] {
        out.push_str(part);
    }
}

/// CR LF becomes LF; a lone CR is kept. The Linux runner splits the file on LF only, so a CR
/// would survive, but a Windows runner also splits on CR LF and would then drop a CR that ends
/// the value; and a later step reading the output in a shell expects LF lines either way.
/// Normalising makes every runner read the same lines.
fn normalize_line_ends(value: &str) -> String {
    value.replace("\r\n", "\n")
}

/// The first candidate that occurs in neither the name nor the value, so no line of the value
/// can be the delimiter. `@actions/core` throws instead; drawing again costs nothing.
fn pick_delimiter(name: &str, value: &str, mut next: impl FnMut() -> String) -> String {
    loop {
        let delimiter = next();
        if !name.contains(&delimiter) && !value.contains(&delimiter) {
            return delimiter;
        }
    }
}

/// `ghadelimiter_` and 128 random bits in hex, as `@actions/core` names its delimiters.
fn random_delimiter() -> String {
    format!("ghadelimiter_{}", super::random_hex())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A port of the runner's `GITHUB_OUTPUT` parser (`FileCommandManager.cs`, Linux build:
    /// lines end at LF only), so tests check what the runner would read, not what we meant.
    fn runner_parse(text: &str) -> Result<Vec<(String, String)>, String> {
        // (line, whether an LF ended it); `None` at the end of the text.
        fn read_line(text: &str, index: &mut usize) -> Option<(String, bool)> {
            if *index >= text.len() {
                return None;
            }
            let rest = &text[*index..];
            match rest.find('\n') {
                Some(lf) => {
                    *index += lf + 1;
                    Some((rest[..lf].to_owned(), true))
                }
                None => {
                    *index = text.len();
                    Some((rest.to_owned(), false))
                }
            }
        }

        let mut outputs = Vec::new();
        let mut index = 0;
        while let Some((line, _)) = read_line(text, &mut index) {
            if line.is_empty() {
                continue;
            }
            let equals = line.find('=');
            let heredoc = line.find("<<");
            match (equals, heredoc) {
                (Some(e), h) if h.is_none_or(|h| e < h) => {
                    let (name, value) = line.split_at(e);
                    outputs.push((name.to_owned(), value[1..].to_owned()));
                }
                (_, Some(h)) => {
                    let (name, delimiter) = (&line[..h], &line[h + 2..]);
                    if name.is_empty() || delimiter.is_empty() {
                        return Err(format!("Invalid format '{line}'"));
                    }
                    let start = index;
                    let mut end = index;
                    loop {
                        match read_line(text, &mut index) {
                            Some((l, _)) if l == delimiter => break,
                            None => {
                                return Err(format!(
                                    "Invalid value. Matching delimiter not found '{delimiter}'"
                                ));
                            }
                            Some((_, false)) => {
                                return Err("Invalid value. EOF marker missing new line.".into());
                            }
                            Some((_, true)) => end = index - 1,
                        }
                    }
                    let value = if end > start { &text[start..end] } else { "" };
                    outputs.push((name.to_owned(), value.to_owned()));
                }
                _ => return Err(format!("Invalid format '{line}'")),
            }
        }
        Ok(outputs)
    }

    fn write_and_parse(outputs: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        write_outputs(&path, outputs).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let parsed = runner_parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        (text, parsed)
    }

    fn owned(outputs: &[(&str, &str)]) -> Vec<(String, String)> {
        outputs
            .iter()
            .map(|&(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn the_port_reads_the_runner_forms_and_errors() {
        assert_eq!(
            runner_parse("a=1\n\nb<<X\nl1\nl2\nX\nc=x<<y\n").unwrap(),
            owned(&[("a", "1"), ("b", "l1\nl2"), ("c", "x<<y")])
        );
        // The delimiter may end the file without a newline; a value line may not.
        assert_eq!(runner_parse("b<<X\nv\nX").unwrap(), owned(&[("b", "v")]));
        assert_eq!(
            runner_parse("b<<X\nv\n").unwrap_err(),
            "Invalid value. Matching delimiter not found 'X'"
        );
        assert_eq!(
            runner_parse("b<<X\nv").unwrap_err(),
            "Invalid value. EOF marker missing new line."
        );
        // `X\r` is not `X` on Linux.
        assert!(runner_parse("b<<X\nv\nX\r\n").is_err());
    }

    #[test]
    fn single_line_values_use_the_plain_form() {
        let outputs = [
            ("result", "ok"),
            ("expr", "a=b==c<<d"),
            ("empty", ""),
            ("unicode", "ünïcødé ✓ 🚀"),
            ("spaces", "  padded  "),
        ];
        let (text, parsed) = write_and_parse(&outputs);
        assert_eq!(
            text,
            "result=ok\nexpr=a=b==c<<d\nempty=\nunicode=ünïcødé ✓ 🚀\nspaces=  padded  \n"
        );
        assert_eq!(parsed, owned(&outputs));
    }

    #[test]
    fn multi_line_values_use_a_heredoc_with_a_random_delimiter() {
        let json = serde_json::to_string_pretty(&serde_json::json!({
            "planned": [{"key": "ci/boskos:latest", "target": "quay.io/openshift/ci:ci_boskos_latest"}],
            "errors": 0,
        }))
        .unwrap();
        let outputs = [
            ("json", json.as_str()),
            ("fake", "x\nEOF\nghadelimiter_x\nevil=1\nother<<EOF\n"),
            ("blank-lines", "\n\nmiddle\n\n"),
        ];
        let (text, parsed) = write_and_parse(&outputs);
        assert_eq!(parsed, owned(&outputs));
        assert!(text.starts_with("json<<ghadelimiter_"));
        assert!(!text.contains('\r'));
        let delimiters: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once("<<ghadelimiter_").map(|(_, d)| d))
            .collect();
        assert_eq!(delimiters.len(), 3, "{text}");
        assert!(delimiters.iter().all(|d| d.len() == 32));
        assert_ne!(delimiters[0], delimiters[1]);
    }

    #[test]
    fn a_delimiter_found_in_the_name_or_value_is_drawn_again() {
        let mut candidates = ["ghadelimiter_a", "ghadelimiter_b", "ghadelimiter_c"].into_iter();
        let mut out = String::new();
        push_output(&mut out, "n_ghadelimiter_b", "1\nghadelimiter_a\n2", || {
            candidates.next().unwrap().to_owned()
        });
        assert_eq!(
            out,
            "n_ghadelimiter_b<<ghadelimiter_c\n1\nghadelimiter_a\n2\nghadelimiter_c\n"
        );
        assert_eq!(
            runner_parse(&out).unwrap(),
            owned(&[("n_ghadelimiter_b", "1\nghadelimiter_a\n2")])
        );
    }

    #[test]
    fn crlf_becomes_lf_and_a_lone_cr_is_kept() {
        let (text, parsed) =
            write_and_parse(&[("crlf", "a\r\nb\r\n"), ("cr", "c\rd"), ("end", "e\r")]);
        assert_eq!(
            parsed,
            owned(&[("crlf", "a\nb\n"), ("cr", "c\rd"), ("end", "e\r")])
        );
        let crlf = text.split("cr<<").next().unwrap();
        assert!(crlf.starts_with("crlf<<ghadelimiter_"));
        assert!(!crlf.contains('\r'), "{crlf:?}");
        // A CR that ends a value meets the LF we add; Linux runners still read it back.
        assert!(text.contains("\ne\r\nghadelimiter_"));
    }

    #[test]
    fn appends_after_what_is_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        fs::write(&path, "earlier=1\n").unwrap();
        write_outputs(&path, &[("a", "x")]).unwrap();
        write_outputs(&path, &[("b", "y\nz")]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("earlier=1\na=x\nb<<ghadelimiter_"));
        assert_eq!(
            runner_parse(&text).unwrap(),
            owned(&[("earlier", "1"), ("a", "x"), ("b", "y\nz")])
        );
    }

    #[test]
    fn a_missing_file_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        write_outputs(&path, &[("a", "1")]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a=1\n");
    }

    #[test]
    fn bad_names_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        fs::write(&path, "earlier=1\n").unwrap();
        for name in ["", "a=b", "a<<b", "a<b", "a\nb", "a\rb"] {
            let err = write_outputs(&path, &[("fine", "1"), (name, "v")]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "earlier=1\n");
    }

    #[test]
    fn delimiters_differ_between_draws() {
        let a = random_delimiter();
        let b = random_delimiter();
        assert_ne!(a, b);
        assert!(a.starts_with("ghadelimiter_"));
        assert!(
            a["ghadelimiter_".len()..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
    }
}
