//! `invalid-target`: a key that is not `namespace/name:tag`, checked like ci-images-mirror.

use super::Context;
use crate::diag::{Code, Diagnostic};
use crate::qci::parse_target;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let config = cx.config;
    for entry in config
        .supplemental_entries()
        .chain(config.qci_to_app_ci_entries())
    {
        if let Err(reason) = parse_target(&entry.key.value) {
            out.push(
                Diagnostic::error(
                    Code::InvalidTarget,
                    entry.key.span,
                    format!("`{}` is not a valid target: {reason}", entry.key.value),
                )
                .with_help("a target is `namespace/name:tag`, e.g. `ci/my-tool:v1.2`"),
            );
        }
    }
}
