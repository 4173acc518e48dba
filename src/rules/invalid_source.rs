//! `invalid-source`: a source must be exactly one of `image:` or the three imagestreamtag fields,
//! and never `as`. ci-images-mirror silently ignores `namespace`/`name`/`tag` next to `image`.

use super::{Context, has_misspelling_of, join_names};
use crate::config::model::{Body, Field, Value};
use crate::diag::{Code, Diagnostic};
use crate::source::Span;

const ISTAG_FIELDS: [&str; 3] = ["namespace", "name", "tag"];

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for entry in cx.config.supplemental_entries() {
        let what = format!("`{}`", entry.key.value);
        check_source(&entry.body, entry.key.span, &what, out);
    }
    for item in cx.config.ignored_source_items() {
        check_source(&item.body, item.span, "this `ignoredSources` item", out);
    }
}

fn is_set(field: &Field) -> bool {
    !matches!(&field.value, Value::Null)
        && !matches!(&field.value, Value::Scalar(s) if s.value.is_empty())
}

fn check_source(body: &Body, owner_span: Span, what: &str, out: &mut Vec<Diagnostic>) {
    let help =
        "set `image: <pull spec>`, or `namespace`, `name` and `tag` of an imagestreamtag on app.ci";
    match body {
        Body::Null => {
            out.push(
                Diagnostic::error(
                    Code::InvalidSource,
                    owner_span,
                    format!("{what} has no source"),
                )
                .with_help(help),
            );
            return;
        }
        Body::Other(_) => return, // `wrong-type` covers it.
        Body::Mapping(_) => {}
    }
    if let Some(alias) = body.field("as").filter(|f| is_set(f)) {
        out.push(
            Diagnostic::error(
                Code::InvalidSource,
                alias.name.span,
                format!("{what} sets `as`, which a mirroring source cannot have"),
            )
            .with_help("remove `as`; the key already names the target"),
        );
    }
    let image = body.field("image").filter(|f| is_set(f));
    let istag: Vec<&Field> = ISTAG_FIELDS
        .iter()
        .filter_map(|name| body.field(name).filter(|f| is_set(f)))
        .collect();
    match image {
        Some(image) if !istag.is_empty() => {
            let names: Vec<&str> = istag.iter().map(|f| f.name.value.as_str()).collect();
            out.push(
                Diagnostic::error(
                    Code::InvalidSource,
                    istag[0].name.span,
                    format!(
                        "{what} sets both `image` and {}; ci-images-mirror would silently ignore {}",
                        join_names(&names),
                        join_names(&names)
                    ),
                )
                .with_label(image.name.span, "`image` is set here")
                .with_help("keep either `image` or the imagestreamtag fields"),
            );
        }
        Some(_) => {}
        None => report_missing(body, &istag, owner_span, what, help, out),
    }
}

/// A source with no `image`: which imagestreamtag fields it lacks, unless another rule
/// already explains it.
fn report_missing(
    body: &Body,
    istag: &[&Field],
    owner_span: Span,
    what: &str,
    help: &str,
    out: &mut Vec<Diagnostic>,
) {
    let missing: Vec<&str> = ISTAG_FIELDS
        .iter()
        .copied()
        .filter(|name| {
            !istag
                .iter()
                .any(|f| crate::config::model::go_name_matches(&f.name.value, name))
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let explained = ["image"]
        .iter()
        .chain(&missing)
        .any(|name| has_misspelling_of(body, name));
    if explained {
        return; // `unknown-field` already points at the misspelt field.
    }
    if let Some(empty) = body.field("image").filter(|_| istag.is_empty()) {
        out.push(
            Diagnostic::error(
                Code::InvalidSource,
                empty.value_span,
                format!("{what} has an empty `image`"),
            )
            .with_help(help),
        );
        return;
    }
    let span = istag.first().map_or(owner_span, |f| f.name.span);
    let message = if istag.is_empty() {
        format!("{what} has no source: neither `image` nor `namespace`, `name` and `tag` is set")
    } else {
        format!(
            "{what} has no `image` and its imagestreamtag lacks {}",
            join_names(&missing)
        )
    };
    out.push(Diagnostic::error(Code::InvalidSource, span, message).with_help(help));
}
