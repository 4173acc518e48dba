//! `target-promoted`: a key whose QCI tag is one that ci-operator promotes to. ci-operator
//! configs promote built images into app.ci imagestreams, which are mirrored into QCI as
//! `ns_name_tag` like any key here, so the entry and the promotion would keep replacing each
//! other's image. ci-images-mirror's presubmit refuses such a new key ("target … would
//! overwrite a promoted tag").
//!
//! Without a base to compare with, the entry may be older than the promotion, so `validate`
//! warns; on a pull request, [`escalate_changed`] makes it an error for the entries the pull
//! request adds or edits.

use super::Context;
use crate::diag::{Code, Diagnostic, Severity};
use crate::qci::{parse_target, render_qci_tag};
use std::collections::HashSet;

const HELP_OLD_ENTRY: &str = "if this entry is older than the promotion, remove it: ci-operator publishes the image now; otherwise choose a target that no ci-operator config promotes";
const HELP_NEW_ENTRY: &str =
    "choose a target that no ci-operator config promotes, or use the promoted image itself";

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(promoted) = cx.options.promoted.as_deref() else {
        return;
    };
    for entry in cx.config.supplemental_entries() {
        let key = &entry.key.value;
        if parse_target(key).is_err() {
            continue;
        }
        let qci_tag = render_qci_tag(key);
        let Some(found) = promoted.by_qci_tag(&qci_tag) else {
            continue;
        };
        let by = format!("{}:{}", found.origin.file, found.origin.line);
        let message = if found.tag == *key {
            format!(
                "`{key}` would overwrite a tag promoted by {by}; ci-operator and this entry would keep replacing `{}:{qci_tag}`",
                cx.options.target_repository
            )
        } else {
            format!(
                "`{key}` would overwrite a tag promoted by {by}: it renders to the QCI tag `{qci_tag}`, where ci-operator promotes `{}`",
                found.tag
            )
        };
        out.push(
            Diagnostic::warning(Code::TargetPromoted, entry.key.span, message)
                .with_help(HELP_OLD_ENTRY),
        );
    }
}

/// Makes the `target-promoted` findings on `changed_key_lines` (the key lines of entries a pull
/// request adds or edits) errors: such an entry is new next to the promotion, so it is the one
/// to change.
pub fn escalate_changed(diagnostics: &mut [Diagnostic], changed_key_lines: &HashSet<u32>) {
    for diagnostic in diagnostics
        .iter_mut()
        .filter(|d| d.code == Code::TargetPromoted && changed_key_lines.contains(&d.span.line))
    {
        diagnostic.severity = Severity::Error;
        diagnostic.help = Some(HELP_NEW_ENTRY.to_owned());
    }
}
