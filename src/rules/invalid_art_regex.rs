//! `invalid-art-regex`: `artImages` `name` and `tag` are Go regular expressions; one that Go's
//! `regexp.Compile` refuses stops ci-images-mirror from loading the config at all.
//!
//! The check follows Go's own parser and limits ([`super::go_regexp`]) rather than compiling with
//! Rust's `regex`: the two share RE2's syntax but not its edges. Go accepts `\Q…\E`, repeated
//! group names and an ASCII `\w{1000}` that Rust refuses, and refuses nested repeats over 1000
//! (`(a{500}){3}`) that Rust accepts.

use super::{Context, go_regexp};
use crate::diag::{Code, Diagnostic};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for item in cx.config.art_image_items() {
        for field in ["name", "tag"] {
            let Some(pattern) = item.body.text(field) else {
                continue;
            };
            if let Err(error) = go_regexp::check(&pattern.value) {
                let value = &pattern.value;
                // Spans count characters; the error counts bytes of the pattern.
                let chars = |byte: usize| value[..byte].chars().count();
                let span = pattern.span_of_chars(chars(error.at.start)..chars(error.at.end));
                out.push(Diagnostic::error(
                    Code::InvalidArtRegex,
                    span,
                    format!("`{field}: {value}` is not a valid regular expression: {error}"),
                ));
            }
        }
    }
}
