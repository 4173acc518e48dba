//! `invalid-qci-tag`: the QCI tag rendered from a key breaks the registry's tag grammar, so the
//! push would fail at mirroring time.

use super::Context;
use crate::diag::{Code, Diagnostic};
use crate::qci::{check_tag, parse_target, render_qci_tag};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for entry in cx.config.supplemental_entries() {
        let key = &entry.key.value;
        if parse_target(key).is_err() {
            continue; // `invalid-target` already says what is wrong.
        }
        let tag = render_qci_tag(key);
        if let Err(reason) = check_tag(&tag) {
            out.push(
                Diagnostic::error(
                    Code::InvalidQciTag,
                    entry.key.span,
                    format!("`{key}` renders to the QCI tag `{tag}`, which is not a valid tag: {reason}"),
                )
                .with_help("QCI tags are `namespace_name_tag` and may hold only letters, digits, `_`, `.` and `-`, at most 128 of them"),
            );
        }
    }
}
