//! `unknown-field`: a field the schema does not have, usually a typo that silently drops a value.

use super::{Context, join_names, suggestion};
use crate::config::model::{Body, Scalar, TOP_LEVEL_KEYS};
use crate::diag::{Code, Diagnostic};

const SOURCE_FIELDS: &[&str] = &["image", "namespace", "name", "tag", "as"];
const IGNORED_SOURCE_FIELDS: &[&str] = &["image", "namespace", "name", "tag", "as", "reason"];
const ART_IMAGE_FIELDS: &[&str] = &["namespace", "name", "tag"];

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    for key in &config.top_keys {
        if !TOP_LEVEL_KEYS.contains(&key.value.as_str()) {
            out.push(unknown(key, "at the top level", &TOP_LEVEL_KEYS));
        }
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
    for field in body.fields() {
        if !allowed.contains(&field.name.value.as_str()) {
            out.push(unknown(&field.name, where_, allowed));
        }
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
        Some(known) if known.eq_ignore_ascii_case(&name.value) => diagnostic.with_help(format!(
            "field names are case-sensitive here: write `{known}`"
        )),
        Some(known) => diagnostic.with_help(format!("did you mean `{known}`?")),
        None => diagnostic,
    }
}
