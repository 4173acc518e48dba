//! `qci-tag-collision`: two different keys that render to the same QCI tag (`ci/a_b:c` and
//! `ci/a:b_c` both give `ci_a_b_c`), so one would overwrite the other. ci-images-mirror never
//! checks this.

use super::{Context, join};
use crate::config::model::Entry;
use crate::diag::{Code, Diagnostic};
use crate::qci::{parse_target, render_qci_tag};
use std::collections::HashMap;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut by_tag: HashMap<String, Vec<&Entry>> = HashMap::new();
    for entry in cx.config.supplemental_entries() {
        if parse_target(&entry.key.value).is_ok() {
            by_tag
                .entry(render_qci_tag(&entry.key.value))
                .or_default()
                .push(entry);
        }
    }
    for (tag, entries) in by_tag {
        for entry in &entries {
            // The same key twice is a `duplicate-key`, not a collision.
            let others: Vec<&&Entry> = entries
                .iter()
                .filter(|other| other.key.value != entry.key.value)
                .collect();
            if others.is_empty() {
                continue;
            }
            let names: Vec<String> = others
                .iter()
                .map(|o| format!("`{}` (line {})", o.key.value, o.key.span.line))
                .collect();
            let mut diagnostic = Diagnostic::error(
                Code::QciTagCollision,
                entry.key.span,
                format!(
                    "`{}` renders to the QCI tag `{tag}`, and so {} {}",
                    entry.key.value,
                    if names.len() == 1 { "does" } else { "do" },
                    join(&names)
                ),
            )
            .with_help("rename one of the targets so that each renders to its own QCI tag");
            for other in others {
                diagnostic = diagnostic.with_label(
                    other.key.span,
                    format!("`{}` also renders to `{tag}`", other.key.value),
                );
            }
            out.push(diagnostic);
        }
    }
}
