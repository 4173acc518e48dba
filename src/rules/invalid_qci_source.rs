//! `invalid-qci-source`: `qciToAppCIImages` copies QCI images back to app.ci, so a value may only
//! be empty (the key's own QCI tag) or an `image:` in QCI.

use super::{Context, join_alternatives};
use crate::config::model::Body;
use crate::diag::{Code, Diagnostic};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let repositories = cx.options.qci_repositories();
    for entry in cx.config.qci_to_app_ci_entries() {
        let Body::Mapping(fields) = &entry.body else {
            continue;
        };
        for field in fields {
            if matches!(
                field.name.value.as_str(),
                "namespace" | "name" | "tag" | "as"
            ) && field.text().is_some()
            {
                out.push(
                    Diagnostic::error(
                        Code::InvalidQciSource,
                        field.name.span,
                        format!(
                            "`qciToAppCIImages` values take only `image`, but `{}` sets `{}`",
                            entry.key.value, field.name.value
                        ),
                    )
                    .with_help("leave the value empty (`{}`) to use the key's own QCI tag, or set `image:` to a QCI image"),
                );
            }
        }
        if let Some(image) = entry.body.text("image") {
            let in_qci = repositories.iter().any(|repo| {
                image
                    .value
                    .strip_prefix(repo)
                    .is_some_and(|rest| rest.starts_with([':', '@']))
            });
            if !in_qci {
                out.push(Diagnostic::error(
                    Code::InvalidQciSource,
                    image.span,
                    format!(
                        "`{}` is not a QCI image; `qciToAppCIImages` images must be in {}",
                        image.value,
                        join_alternatives(&repositories)
                    ),
                ));
            }
        }
    }
}
