//! `unknown-field`: a field the schema does not have, usually a typo that silently drops a value.

use super::{Context, join_names, suggestion};
use crate::config::model::{Body, Scalar, TOP_LEVEL_KEYS, go_name_matches};
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
        let written = field.name.value.as_str();
        if allowed.contains(&written) {
            continue;
        }
        // ci-images-mirror reads `Image:` as `image` (Go matches field names in any case).
        match allowed.iter().find(|known| go_name_matches(written, known)) {
            Some(known) => out.push(
                Diagnostic::warning(
                    Code::FieldNameCase,
                    field.name.span,
                    format!(
                        "`{written}` is read as `{known}` by ci-images-mirror, which matches field names in any case"
                    ),
                )
                .with_help(format!("write `{known}`")),
            ),
            None => out.push(unknown(&field.name, where_, allowed)),
        }
    }
    // Two spellings of one field: Go keeps the value it reads last.
    for known in allowed {
        let spellings: Vec<&Scalar> = body
            .fields()
            .iter()
            .map(|f| &f.name)
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
