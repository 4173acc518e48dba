//! `unquoted-scalar`: an unquoted value that YAML 1.1 reads as a number, boolean or null. Where
//! the Go consumer's field is declared on its own struct, it turns the value back into text its
//! own way (`reason: 10.10` becomes `10.1`); where the field comes from an embedded struct (a
//! source's `namespace`, `name`, `tag`, `as`; an ignored source's `image` too), it cannot, and
//! refuses the whole file.

use super::Context;
use crate::config::model::{Body, Style, Value};
use crate::diag::{Code, Diagnostic};
use crate::yaml11::{Resolved, go_string_form, resolve};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    // Which fields each section's items take from a struct embedded in theirs: sources embed
    // an imagestreamtag reference (`namespace`, `name`, `tag`, `as`), and `ignoredSources`
    // items embed the whole source, `image` included. `qciToAppCIImages` values decode into
    // the same source struct as `supplementalCIImages` ones (ci-tools, `MirrorQCIToAppCI`).
    const REFERENCE: &[&str] = &["namespace", "name", "tag", "as"];
    const SOURCE: &[&str] = &["namespace", "name", "tag", "as", "image"];
    let bodies = config
        .supplemental_entries()
        .map(|e| (&e.body, REFERENCE))
        .chain(config.qci_to_app_ci_entries().map(|e| (&e.body, REFERENCE)))
        .chain(config.ignored_source_items().map(|i| (&i.body, SOURCE)))
        .chain(config.art_image_items().map(|i| (&i.body, &[][..])));
    for (body, embedded) in bodies {
        check_body(body, embedded, out);
    }
}

fn check_body(body: &Body, embedded: &[&str], out: &mut Vec<Diagnostic>) {
    for field in body.fields() {
        let Value::Scalar(scalar) = &field.value else {
            continue;
        };
        if scalar.style != Style::Plain {
            continue;
        }
        let Some(resolved) = resolve(&scalar.value) else {
            continue;
        };
        let name = &field.name.value;
        let literal = &scalar.value;
        let help = format!("quote it: `{name}: \"{literal}\"`");
        // sigs.k8s.io/yaml turns numbers and booleans back into text only for fields declared
        // on the struct itself, not for those of an embedded one (kubernetes-sigs/yaml#58):
        // there the JSON number meets a Go string and the whole file fails to load. A null is
        // only an empty string to it.
        let in_embedded = embedded
            .iter()
            .any(|field| crate::config::model::go_name_matches(name, field));
        if in_embedded && !matches!(resolved, Resolved::Null) {
            let kind = if matches!(resolved, Resolved::Bool(_)) {
                "a boolean"
            } else {
                "a number"
            };
            out.push(
                Diagnostic::error(
                    Code::UnquotedScalar,
                    scalar.span,
                    format!(
                        "`{name}: {literal}` is unquoted, so YAML reads it as {kind}, and ci-images-mirror cannot load the file at all: `{name}` belongs to an embedded struct, whose fields its YAML decoder does not turn back into text (\"json: cannot unmarshal {} into Go struct field … of type string\"), so no entry is mirrored",
                        if kind == "a boolean" { "bool" } else { "number" }
                    ),
                )
                .with_help(help),
            );
            continue;
        }
        let kind = match resolved {
            Resolved::Null => "null",
            Resolved::Bool(_) => "a boolean",
            Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_) => "a number",
        };
        let go_form = go_string_form(resolved);
        let shown_go_form = if go_form.is_empty() {
            "an empty value".to_owned()
        } else {
            format!("`{go_form}`")
        };
        let diagnostic = if go_form == *literal {
            Diagnostic::warning(
                Code::UnquotedScalar,
                scalar.span,
                format!("`{name}: {literal}` is unquoted, so YAML reads it as {kind}, not text"),
            )
        } else {
            Diagnostic::error(
                Code::UnquotedScalar,
                scalar.span,
                format!(
                    "`{name}: {literal}` is unquoted, so YAML 1.1 reads it as {kind} and ci-images-mirror uses {shown_go_form}, not `{literal}`"
                ),
            )
        };
        out.push(diagnostic.with_help(help));
    }
}
