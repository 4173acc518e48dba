//! `unknown-field`: a field the schema does not have, usually a typo that silently drops a value.

use super::{Context, join_names, suggestion};
use crate::config::model::{
    ART_IMAGES, Body, IGNORED_SOURCES, Scalar, TOP_LEVEL_KEYS, go_name_matches,
};
use crate::diag::{Code, Diagnostic};

const SOURCE_FIELDS: &[&str] = &["image", "namespace", "name", "tag", "as"];
const IGNORED_SOURCE_FIELDS: &[&str] = &["image", "namespace", "name", "tag", "as", "reason"];
const ART_IMAGE_FIELDS: &[&str] = &["namespace", "name", "tag"];

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    check_names(
        config.top_keys.iter(),
        "at the top level",
        &TOP_LEVEL_KEYS,
        out,
    );
    // A list section given twice keeps only its last list (Go's decoder replaces a slice); a
    // map section given twice merges (it fills the map it has), so only lists are an error.
    for list in [IGNORED_SOURCES, ART_IMAGES] {
        report_two_spellings(config.top_keys.iter(), list, out);
    }
    let keyed = config
        .supplemental_entries()
        .chain(config.qci_to_app_ci_entries())
        .map(|e| &e.body);
    for body in keyed {
        check_body(body, "in a source", SOURCE_FIELDS, out);
    }
    for item in config.ignored_source_items() {
        check_body(
            &item.body,
            "in an `ignoredSources` item",
            IGNORED_SOURCE_FIELDS,
            out,
        );
    }
    for item in config.art_image_items() {
        check_body(&item.body, "in an `artImages` item", ART_IMAGE_FIELDS, out);
    }
}

fn check_body(body: &Body, where_: &str, allowed: &[&str], out: &mut Vec<Diagnostic>) {
    check_names(body.fields().iter().map(|f| &f.name), where_, allowed, out);
    // Two spellings of one field: Go keeps the value it reads last.
    for known in allowed {
        report_two_spellings(body.fields().iter().map(|f| &f.name), known, out);
    }
}

/// Each name not in `allowed`: a `field-name-case` warning when ci-images-mirror reads it as
/// one of them anyway (Go matches field names in any case), else `unknown-field`.
fn check_names<'a>(
    names: impl Iterator<Item = &'a Scalar>,
    where_: &str,
    allowed: &[&str],
    out: &mut Vec<Diagnostic>,
) {
    for name in names {
        let written = name.value.as_str();
        if allowed.contains(&written) {
            continue;
        }
        match allowed.iter().find(|known| go_name_matches(written, known)) {
            Some(known) => out.push(
                Diagnostic::warning(
                    Code::FieldNameCase,
                    name.span,
                    format!(
                        "`{written}` is read as `{known}` by ci-images-mirror, which matches field names in any case"
                    ),
                )
                .with_help(format!("write `{known}`")),
            ),
            None => out.push(unknown(name, where_, allowed)),
        }
    }
}

/// An error when `names` spell `known` in more than one way: Go keeps the value it reads last.
fn report_two_spellings<'a>(
    names: impl Iterator<Item = &'a Scalar>,
    known: &str,
    out: &mut Vec<Diagnostic>,
) {
    let spellings: Vec<&Scalar> = names
        .filter(|name| go_name_matches(&name.value, known))
        .collect();
    let distinct = spellings
        .iter()
        .any(|name| name.value != spellings[0].value);
    if let (true, Some(kept)) = (distinct, spellings.last()) {
        out.push(
            Diagnostic::error(
                Code::FieldNameCase,
                kept.span,
                format!(
                    "`{known}` is set {} times under different spellings ({}); ci-images-mirror keeps the last, `{}` on line {}",
                    spellings.len(),
                    join_names(&spellings.iter().map(|n| n.value.as_str()).collect::<Vec<_>>()),
                    kept.value,
                    kept.span.line
                ),
            )
            .with_help(format!("keep one `{known}`")),
        );
    }
}

fn unknown(name: &Scalar, where_: &str, allowed: &[&str]) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownField,
        name.span,
        format!(
            "unknown field `{}` {where_}; expected {}",
            name.value,
            join_names(allowed)
        ),
    );
    match suggestion(&name.value, allowed) {
        Some(known) => diagnostic.with_help(format!("did you mean `{known}`?")),
        None => diagnostic,
    }
}
