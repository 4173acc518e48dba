//! `invalid-art-regex`: `artImages` `name` and `tag` are Go regular expressions; one that does not
//! compile stops ci-images-mirror from loading the config at all.
//!
//! The `regex` crate implements the same RE2 syntax as Go's `regexp` (no look-around, no
//! back-references), so what compiles here compiles there.

use super::Context;
use crate::diag::{Code, Diagnostic};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for item in cx.config.art_image_items() {
        for field in ["name", "tag"] {
            let Some(pattern) = item.body.text(field) else {
                continue;
            };
            if let Err(error) = regex::Regex::new(&pattern.value) {
                out.push(Diagnostic::error(
                    Code::InvalidArtRegex,
                    pattern.span,
                    format!(
                        "`{field}: {}` is not a valid regular expression: {}",
                        pattern.value,
                        reason(&error)
                    ),
                ));
            }
        }
    }
}

/// The `regex` error without its multi-line drawing of the pattern.
fn reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .unwrap_or(text.lines().last().unwrap_or_default())
        .to_owned()
}
