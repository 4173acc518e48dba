//! `wrong-type`: a value of the wrong YAML kind, such as a string where a source mapping belongs.

use super::Context;
use crate::config::model::{Body, Kind, SectionBody, Value};
use crate::diag::{Code, Diagnostic};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    if let Some((kind, span)) = config.top_level_kind {
        out.push(Diagnostic::error(
            Code::WrongType,
            span,
            format!(
                "the top level must be a mapping with `supplementalCIImages`, `qciToAppCIImages`, `ignoredSources` and `artImages`, not {}",
                kind.described()
            ),
        ));
    }
    for section in config.supplemental.iter().chain(&config.qci_to_app_ci) {
        if let SectionBody::Wrong(kind) = section.body {
            out.push(Diagnostic::error(
                Code::WrongType,
                section.body_span,
                format!(
                    "`{}` must be a mapping of `namespace/name:tag` keys, not {}",
                    section.key.value,
                    kind.described()
                ),
            ));
        }
        for entry in section.items() {
            if let Body::Other(kind) = entry.body {
                out.push(
                    Diagnostic::error(
                        Code::WrongType,
                        entry.body_span,
                        format!(
                            "the value of `{}` must be a mapping such as `image: <pull spec>`, not {}",
                            entry.key.value,
                            kind.described()
                        ),
                    )
                    .with_help("put `image: <pull spec>` on the next line, indented under the key"),
                );
            }
            check_fields(&entry.body, &section.key.value, out);
        }
    }
    for section in config.ignored_sources.iter().chain(&config.art_images) {
        if let SectionBody::Wrong(kind) = section.body {
            out.push(Diagnostic::error(
                Code::WrongType,
                section.body_span,
                format!(
                    "`{}` must be a list, not {}",
                    section.key.value,
                    kind.described()
                ),
            ));
        }
        for item in section.items() {
            if let Body::Other(kind) = item.body {
                out.push(Diagnostic::error(
                    Code::WrongType,
                    item.span,
                    format!(
                        "each `{}` item must be a mapping, not {}",
                        section.key.value,
                        kind.described()
                    ),
                ));
            }
            check_fields(&item.body, &section.key.value, out);
        }
    }
}

fn check_fields(body: &Body, section: &str, out: &mut Vec<Diagnostic>) {
    for field in body.fields() {
        if let Value::Collection(kind) = field.value {
            debug_assert_ne!(kind, Kind::Scalar);
            out.push(Diagnostic::error(
                Code::WrongType,
                field.value_span,
                format!(
                    "`{}` in `{section}` must be a string, not {}",
                    field.name.value,
                    kind.described()
                ),
            ));
        }
    }
}
