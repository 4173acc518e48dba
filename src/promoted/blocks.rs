//! Cutting a ci-operator config down to the top-level stanzas that decide what it promotes,
//! before parsing. `determinize-ci-operator` writes every config in openshift/release in block
//! style with its top-level keys at the start of a line, so a stanza runs from its key to the
//! next line that starts another key. Most of a config is `tests`, `releases` and
//! `resources`, which never matter here; leaving them unparsed is most of the time saved.

/// The top-level keys [`super::ci_config::CiOperatorConfig`] reads.
const WANTED: [&str; 4] = [
    "binary_build_commands",
    "images",
    "promotion",
    "zz_generated_metadata",
];

/// The wanted stanzas of a config, and where two of them start.
pub(super) struct Stanzas {
    /// The wanted stanzas, in order, as a smaller document.
    pub text: String,
    /// The 1-based line of `promotion:` in the original text, if any.
    pub promotion_line: Option<u32>,
    /// The 1-based line of `binary_build_commands:` in the original text, if any.
    pub binaries_line: Option<u32>,
}

/// The wanted stanzas of `text`; `None` when `text` is not in the plain block shape (a
/// document marker, flow style at the top level, a key that is quoted or complex, …), and then
/// the whole text must be parsed instead.
pub(super) fn wanted_stanzas(text: &str) -> Option<Stanzas> {
    let mut stanzas = Stanzas {
        text: String::with_capacity(text.len() / 4),
        promotion_line: None,
        binaries_line: None,
    };
    let mut keeping = false;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        match line.as_bytes().first() {
            // Inside the current stanza: indented, blank, or a list item at column 0, the way
            // determinize writes a list under a top-level key.
            Some(b' ' | b'\n' | b'\r') | None => {}
            Some(b'-') if line.starts_with("- ") || line.trim_end() == "-" => {}
            Some(b'#') => continue,
            Some(_) => {
                let key = top_level_key(line)?;
                keeping = WANTED.contains(&key);
                let number = u32::try_from(index + 1).ok();
                match key {
                    "promotion" => stanzas.promotion_line = stanzas.promotion_line.or(number),
                    "binary_build_commands" => {
                        stanzas.binaries_line = stanzas.binaries_line.or(number);
                    }
                    _ => {}
                }
            }
        }
        if keeping {
            stanzas.text.push_str(line);
        }
    }
    Some(stanzas)
}

/// The key a column-0 line starts, when it is a plain `key:` one (letters, digits, `_`, `-`
/// and `.`, then `:` and a space or the end of the line).
fn top_level_key(line: &str) -> Option<&str> {
    let (key, rest) = line.split_once(':')?;
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    let separated = rest.is_empty() || rest.starts_with([' ', '\n', '\r', '\t']);
    (plain && separated).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_stanzas_that_decide_promotion() {
        let text = "base_images:\n  base:\n    name: \"4.21\"\nimages:\n- to: cli\n# a comment\n- to: tools\npromotion:\n  to:\n  - namespace: ci\n    tag: latest\ntests:\n- as: unit\n  commands: |\n    promotion: not this\nzz_generated_metadata:\n  branch: main\n";
        let stanzas = wanted_stanzas(text).unwrap();
        assert_eq!(
            (stanzas.promotion_line, stanzas.binaries_line),
            (Some(8), None)
        );
        assert_eq!(
            stanzas.text,
            "images:\n- to: cli\n- to: tools\npromotion:\n  to:\n  - namespace: ci\n    tag: latest\nzz_generated_metadata:\n  branch: main\n"
        );
    }

    #[test]
    fn anything_but_plain_block_style_is_left_to_the_full_parse() {
        for text in [
            "---\npromotion: {}\n",
            "{\"promotion\": {}}\n",
            "\"promotion\":\n  to: []\n",
            "? promotion\n: {}\n",
            "images: [\n{to: a}\n]\n",
        ] {
            assert!(wanted_stanzas(text).is_none(), "{text}");
        }
    }
}
