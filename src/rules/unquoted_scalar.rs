//! `unquoted-scalar`: an unquoted value that YAML 1.1 reads as a number, boolean or null. The Go
//! consumer turns it back into text its own way (`tag: 10.10` becomes `10.1`), so the tag it
//! mirrors can differ from the tag the author wrote.

use super::Context;
use crate::config::model::{Body, Style, Value};
use crate::diag::{Code, Diagnostic};
use crate::yaml11::{Resolved, go_string_form, resolve};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    let bodies = config
        .supplemental_entries()
        .chain(config.qci_to_app_ci_entries())
        .map(|e| &e.body)
        .chain(config.ignored_source_items().map(|i| &i.body))
        .chain(config.art_image_items().map(|i| &i.body));
    for body in bodies {
        check_body(body, out);
    }
}

fn check_body(body: &Body, out: &mut Vec<Diagnostic>) {
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
        let name = &field.name.value;
        let literal = &scalar.value;
        let help = format!("quote it: `{name}: \"{literal}\"`");
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
