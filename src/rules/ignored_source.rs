//! `ignored-source`: an entry whose source is listed in `ignoredSources` is never mirrored, which
//! its author rarely knows.

use super::Context;
use crate::config::model::{Body, Item, SourceRef};
use crate::diag::{Code, Diagnostic};
use crate::reference::parse_image;
use std::collections::HashMap;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut ignored: HashMap<String, &Item> = HashMap::new();
    for item in cx.config.ignored_source_items() {
        if let Some(spec) = pull_spec(cx, &item.body) {
            ignored.entry(spec).or_insert(item);
        }
    }
    if ignored.is_empty() {
        return;
    }
    for sourced in &cx.supplemental {
        let Some(source) = sourced.source else {
            continue;
        };
        let Some(spec) = pull_spec(cx, &sourced.entry.body) else {
            continue;
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

/// The source as a normalized pull spec, so that spellings of the same image match.
fn pull_spec(cx: &Context<'_>, body: &Body) -> Option<String> {
    let spec = match body.source()? {
        SourceRef::Image(image) => image.value.clone(),
        SourceRef::ImageStreamTag {
            namespace,
            name,
            tag,
        } => cx
            .options
            .istag_pull_spec(&namespace.value, &name.value, &tag.value),
    };
    Some(parse_image(&spec).map_or(spec, |image| image.to_string()))
}
