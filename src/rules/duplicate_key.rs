//! `duplicate-key`: the same key twice in one mapping. YAML readers disagree on which one wins
//! (most keep the last silently), so a repeat always hides something.

use super::Context;
use crate::config::model::{Body, Entry, Scalar, Section};
use crate::diag::{Code, Diagnostic};
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    report_repeats(config.top_keys.iter(), "the top level", out);
    for sections in [&config.supplemental, &config.qci_to_app_ci] {
        let Some(first) = sections.first() else {
            continue;
        };
        let where_ = format!("`{}`", first.key.value);
        // A repeated section is itself a duplicate; its entries still count against the first's.
        report_repeats(
            sections
                .iter()
                .flat_map(Section::items)
                .map(|e: &Entry| &e.key),
            &where_,
            out,
        );
        for entry in sections.iter().flat_map(Section::items) {
            check_body(&entry.body, &format!("`{}`", entry.key.value), out);
        }
    }
    for sections in [&config.ignored_sources, &config.art_images] {
        for section in sections {
            for item in section.items() {
                check_body(
                    &item.body,
                    &format!("this `{}` item", section.key.value),
                    out,
                );
            }
        }
    }
}

fn check_body(body: &Body, where_: &str, out: &mut Vec<Diagnostic>) {
    if let Body::Mapping(fields) = body {
        report_repeats(fields.iter().map(|f| &f.name), where_, out);
    }
}

fn report_repeats<'a>(
    keys: impl Iterator<Item = &'a Scalar>,
    where_: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut first_seen: HashMap<&str, &Scalar> = HashMap::new();
    for key in keys {
        match first_seen.entry(key.value.as_str()) {
            Slot::Vacant(slot) => {
                slot.insert(key);
            }
            Slot::Occupied(first) => {
                let first = first.get();
                out.push(
                    Diagnostic::error(
                        Code::DuplicateKey,
                        key.span,
                        format!(
                            "`{}` appears twice in {where_}; it is first defined on line {}",
                            key.value, first.span.line
                        ),
                    )
                    .with_label(first.span, "first defined here")
                    .with_help("keep one of the two; YAML readers silently keep only one of them"),
                );
            }
        }
    }
}
