//! The `plan` and `mirror` JSON documents as `docs/json-output.md` describes them, read from its
//! tables, so tests can hold real output to the documentation.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

/// docs/json-output.md.
pub fn doc() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json-output.md");
    std::fs::read_to_string(path).unwrap()
}

/// The text under the level-2 `heading`, up to the next level-2 heading.
pub fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no `{heading}` in docs/json-output.md"))
        + heading.len()
        + 2;
    let rest = &doc[start..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// Column `column` (0-based, backticks dropped) of the table after the first line of `text`
/// that starts with `intro`.
pub fn column(text: &str, intro: &str, column: usize) -> Vec<String> {
    let after = text
        .lines()
        .skip_while(|line| !line.starts_with(intro))
        .skip(1)
        .skip_while(|line| line.is_empty());
    after
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and the |---| line
        .map(|row| {
            let cell = row.split('|').nth(column + 1).unwrap_or_default().trim();
            cell.trim_matches('`').to_owned()
        })
        .collect()
}

/// The first ```json block of `text`.
pub fn json_block(text: &str) -> &str {
    let start = text.find("```json\n").expect("a json block") + "```json\n".len();
    let end = text[start..].find("```").unwrap();
    &text[start..start + end]
}

/// What the documentation says a document of `command` (`plan` or `mirror`) holds.
pub struct Documented {
    /// Top-level fields, in order.
    pub top: Vec<String>,
    /// Entry fields, in order.
    pub entry: Vec<String>,
}

/// The documented shape of `command`'s document.
pub fn documented(command: &str) -> Documented {
    let doc = doc();
    let text = section(&doc, &format!("## `qci-mirror {command} --format json`"));
    let mut entry_table = command.to_owned();
    entry_table[..1].make_ascii_uppercase();
    entry_table.push_str(" entry object");
    Documented {
        top: column(text, "Top level:", 0),
        entry: column(text, &entry_table, 0),
    }
}

/// An object's keys in the order they were written (serde_json's own maps sort them).
pub struct Keys(pub Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

#[derive(Deserialize)]
struct Entries {
    entries: Vec<Keys>,
}

/// The top-level keys of `json` and each entry's, in the order written.
pub fn keys(json: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let top: Keys = serde_json::from_str(json).unwrap();
    let entries: Entries = serde_json::from_str(json).unwrap();
    (top.0, entries.entries.into_iter().map(|k| k.0).collect())
}

/// Asserts that `json`, a document of `command`, has the documented top-level fields in the
/// documented order, and entries whose fields are documented and in the documented order.
/// Returns every entry field seen.
pub fn assert_documented(command: &str, json: &str) -> std::collections::BTreeSet<String> {
    let documented = documented(command);
    let (top, entries) = keys(json);
    assert_eq!(
        top, documented.top,
        "top-level fields of {command}:\n{json}"
    );
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        let positions: Vec<Option<usize>> = entry
            .iter()
            .map(|key| documented.entry.iter().position(|d| d == key))
            .collect();
        assert!(
            positions.iter().all(Option::is_some) && positions.is_sorted(),
            "{command} entry fields {entry:?} are not a part of the documented {:?}",
            documented.entry
        );
        seen.extend(entry);
    }
    seen
}
