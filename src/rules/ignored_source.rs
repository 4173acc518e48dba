//! `ignored-source`: an entry whose source is listed in `ignoredSources` is never mirrored, which
//! its author rarely knows.

use super::Context;
use crate::config::model::Item;
use crate::diag::{Code, Diagnostic};
use crate::reference::parse_image;
use std::collections::HashMap;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut ignored: HashMap<String, &Item> = HashMap::new();
    for item in cx.config.ignored_source_items() {
        if let Some(source) = item.body.source() {
            ignored
                .entry(normalized(cx.options.source_pull_spec(source)))
                .or_insert(item);
        }
    }
    if ignored.is_empty() {
        return;
    }
    for sourced in &cx.supplemental {
        let Some(source) = sourced.source else {
            continue;
        };
        // Reuse the parse every rule shares: on large configs parsing dominates the run time.
        let spec = match &sourced.image {
            Some(Ok(image)) => image.to_string(),
            _ => normalized(cx.options.source_pull_spec(source)),
        };
        let Some(item) = ignored.get(&spec) else {
            continue;
        };
        let reason = item
            .body
            .text("reason")
            .map(|r| format!(" (reason: {})", r.value))
            .unwrap_or_default();
        out.push(
            Diagnostic::warning(
                Code::IgnoredSource,
                source.span(),
                format!(
                    "`{}` is never mirrored: its source `{spec}` is listed in `ignoredSources` on line {}{reason}",
                    sourced.entry.key.value, item.span.line
                ),
            )
            .with_label(
                item.body.source().map_or(item.span, |s| s.span()),
                "ignored here",
            )
            .with_help("remove the entry, or take the source out of `ignoredSources` once it can be mirrored again"),
        );
    }
}

/// The fully qualified form, so that spellings of the same image match.
fn normalized(spec: String) -> String {
    parse_image(&spec).map_or(spec, |image| image.to_string())
}
