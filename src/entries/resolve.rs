//! The config resolved into entries: each `supplementalCIImages` and `qciToAppCIImages` entry
//! with its source and target pull specs and, where no registry needs asking, its state
//! (invalid: an error on its lines; ignored: its source is in `ignoredSources`). Every command
//! that works on entries starts here: `plan`, `mirror`, the action and the network check.

use super::{Layout, Section};
use crate::config::model::{Config, Entry};
use crate::diag::Diagnostic;
use crate::qci::{parse_target, render_qci_tag};
use crate::rules::Options;
use crate::source::Span;
use oci_client::Reference;
use serde::Serialize;
use std::collections::HashSet;

/// One entry's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum State {
    /// The target tag already has the source's digest: nothing to do.
    UpToDate {
        /// The shared digest.
        digest: String,
    },
    /// The target is absent or has another digest: a mirror run copies it.
    Copy {
        /// The source's digest.
        source_digest: String,
        /// The target's current digest, when the tag exists (a copy moves it).
        target_digest: Option<String>,
    },
    /// The source could not be read; the reason says why.
    Unreachable {
        /// What went wrong.
        reason: String,
    },
    /// The entry has validation errors and is not looked up.
    Invalid {
        /// The first error.
        reason: String,
    },
    /// The source is in `ignoredSources`: never mirrored.
    Ignored,
    /// A `qciToAppCIImages` source not in QCI: nothing to copy back, and not an error
    /// (ci-images-mirror skips it too).
    Absent {
        /// What was missing.
        reason: String,
    },
}

impl State {
    /// Which of the documented states it is.
    pub fn kind(&self) -> StateKind {
        match self {
            State::UpToDate { .. } => StateKind::UpToDate,
            State::Copy { .. } => StateKind::Copy,
            State::Unreachable { .. } => StateKind::Unreachable,
            State::Invalid { .. } => StateKind::Invalid,
            State::Ignored => StateKind::Ignored,
            State::Absent { .. } => StateKind::Absent,
        }
    }
}

/// An entry's state without its details, `state` in JSON: a stable value listed in
/// `docs/json-output.md`, in the order of [`crate::plan::Counts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateKind {
    /// Already mirrored.
    UpToDate,
    /// A mirror run would copy it.
    Copy,
    /// The source could not be read.
    Unreachable,
    /// Validation errors.
    Invalid,
    /// The source is in `ignoredSources`.
    Ignored,
    /// Nothing in QCI to copy back.
    Absent,
}

impl StateKind {
    /// Its name in reports, the same as its JSON value.
    pub const fn name(self) -> &'static str {
        match self {
            StateKind::UpToDate => "up-to-date",
            StateKind::Copy => "copy",
            StateKind::Unreachable => "unreachable",
            StateKind::Invalid => "invalid",
            StateKind::Ignored => "ignored",
            StateKind::Absent => "absent",
        }
    }
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedEntry {
    /// Which section the entry is in: which way it copies.
    pub section: Section,
    /// The config key.
    pub key: String,
    /// Its line in the config.
    pub line: u32,
    /// The source pull spec.
    pub source: String,
    /// The target reference.
    pub target: String,
    /// What a mirror run would do.
    #[serde(flatten)]
    pub state: State,
}

/// An entry ready to look up (or copy): its index in the resolved list, its references, and
/// where the config writes it, so that findings about it land on its lines.
pub(crate) struct Lookups {
    pub index: usize,
    pub section: Section,
    pub source: Reference,
    pub target: Reference,
    pub key_span: Span,
    /// The `image:` or imagestreamtag fields, when the entry names its source.
    pub source_span: Option<Span>,
}

/// The entries of `config`, each with its state where no lookup is needed (invalid, ignored),
/// and the lookups to make for the rest: `supplementalCIImages` first, then `qciToAppCIImages`.
pub(crate) fn resolve(
    config: &Config,
    diagnostics: &[Diagnostic],
    options: &Options,
) -> (Vec<PlannedEntry>, Vec<Lookups>) {
    let errors = Layout::of(config).first_errors(diagnostics);
    let ignored: HashSet<String> = config
        .ignored_source_items()
        .filter_map(|item| item.body.source().map(|s| options.source_pull_spec(s)))
        .filter_map(|spec| Reference::try_from(spec.as_str()).ok().map(|r| r.whole()))
        .collect();

    let mut planned = Vec::new();
    let mut lookups = Vec::new();
    let entries = config
        .supplemental_entries()
        .map(|entry| (Section::Supplemental, entry))
        .chain(
            config
                .qci_to_app_ci_entries()
                .map(|entry| (Section::QciToAppCi, entry)),
        );
    for (section, entry) in entries {
        let key = entry.key.value.clone();
        let line = entry.key.span.line;
        let (source, target) = pull_specs(section, entry, options);
        let error = errors.of(section, line).map(|d| d.message.as_str());
        let parsed = (
            Reference::try_from(source.as_str()),
            Reference::try_from(target.as_str()),
        );
        let state = match (error, parsed) {
            (Some(message), _) => Some(State::Invalid {
                reason: message.to_owned(),
            }),
            (None, (Ok(source_ref), Ok(target_ref))) => {
                if section == Section::Supplemental && ignored.contains(&source_ref.whole()) {
                    Some(State::Ignored)
                } else {
                    lookups.push(Lookups {
                        index: planned.len(),
                        section,
                        source: source_ref,
                        target: target_ref,
                        key_span: entry.key.span,
                        source_span: entry.body.source().map(|s| s.span()),
                    });
                    None
                }
            }
            (None, (Err(e), _) | (_, Err(e))) => Some(State::Invalid {
                reason: e.to_string(),
            }),
        };
        planned.push(PlannedEntry {
            section,
            key,
            line,
            source,
            target,
            // Replaced by the lookup's outcome; it stays only if the lookup task dies.
            state: state.unwrap_or_else(|| State::Unreachable {
                reason: "the lookup did not finish (internal error)".to_owned(),
            }),
        });
    }
    (planned, lookups)
}

/// An entry's source and target pull specs, empty where the config does not give one.
///
/// `supplementalCIImages` copies its source into QCI under the key's QCI tag.
/// `qciToAppCIImages` copies the key's QCI tag (pulled through [`Options::qci_pull_repository`]),
/// or the QCI `image:` it names, to the key's imagestreamtag on app.ci, as ci-images-mirror does.
fn pull_specs(section: Section, entry: &Entry, options: &Options) -> (String, String) {
    let key = &entry.key.value;
    let valid_key = parse_target(key).is_ok();
    let in_qci = |repository: &str| format!("{repository}:{}", render_qci_tag(key));
    match section {
        Section::Supplemental => (
            entry
                .body
                .source()
                .map(|s| options.source_pull_spec(s))
                .unwrap_or_default(),
            if valid_key {
                in_qci(&options.target_repository)
            } else {
                String::new()
            },
        ),
        Section::QciToAppCi if !valid_key => (String::new(), String::new()),
        Section::QciToAppCi => (
            entry.body.text("image").map_or_else(
                || in_qci(&options.qci_pull_repository()),
                |image| image.value.clone(),
            ),
            format!("{}/{key}", options.istag_registry),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn planned(text: &str, options: &Options) -> Vec<(Section, String, String, StateKind)> {
        let checked =
            crate::validate::check_text(SourceFile::new("_config.yaml", text.to_owned()), options);
        let (planned, _) = resolve(&checked.config, &checked.diagnostics, options);
        planned
            .into_iter()
            .map(|e| (e.section, e.source, e.target, e.state.kind()))
            .collect()
    }

    #[test]
    fn lookups_carry_the_lines_of_their_own_entry_whatever_the_order_of_sections() {
        let text = "qciToAppCIImages:\n  ci/back:v1: {}\nsupplementalCIImages:\n  ci/bad:v1:\n    image: docker.io/library/busybox:1\n  ci/a:v1:\n    image: quay.io/org/a:v1\n";
        let options = Options::default();
        let checked =
            crate::validate::check_text(SourceFile::new("_config.yaml", text.to_owned()), &options);
        let (planned, lookups) = resolve(&checked.config, &checked.diagnostics, &options);
        let found: Vec<(&str, u32, Option<u32>)> = lookups
            .iter()
            .map(|l| {
                (
                    planned[l.index].key.as_str(),
                    l.key_span.line,
                    l.source_span.map(|s| s.line),
                )
            })
            .collect();
        // ci/bad:v1 has an error (Docker Hub), so it is not looked up.
        assert_eq!(found, [("ci/a:v1", 6, Some(7)), ("ci/back:v1", 2, None)]);
    }

    #[test]
    fn copies_back_pull_qci_through_the_proxy_upstream_and_through_the_given_host_in_forks() {
        let text = "qciToAppCIImages:\n  ci/tool:v1: {}\n  ci/named:v2:\n    image: quay.io/openshift/ci:picked\n  not a key: {}\n";
        let upstream = planned(text, &Options::default());
        assert_eq!(
            upstream[..2],
            [
                (
                    Section::QciToAppCi,
                    "quay-proxy.ci.openshift.org/openshift/ci:ci_tool_v1".to_owned(),
                    "registry.ci.openshift.org/ci/tool:v1".to_owned(),
                    StateKind::Unreachable, // to be looked up
                ),
                (
                    Section::QciToAppCi,
                    "quay.io/openshift/ci:picked".to_owned(),
                    "registry.ci.openshift.org/ci/named:v2".to_owned(),
                    StateKind::Unreachable,
                ),
            ]
        );
        assert_eq!(upstream[2].3, StateKind::Invalid);

        let fork = Options {
            target_repository: "quay.io/my-org/ci".to_owned(),
            istag_registry: "registry.example.com".to_owned(),
            qci_pull_registry: Some("proxy.example.com".to_owned()),
            ..Options::default()
        };
        let text = "qciToAppCIImages:\n  ci/tool:v1: {}\n";
        let (_, source, target, _) = &planned(text, &fork)[0];
        assert_eq!(source, "proxy.example.com/my-org/ci:ci_tool_v1");
        assert_eq!(target, "registry.example.com/ci/tool:v1");
        let without_proxy = Options {
            qci_pull_registry: None,
            ..fork
        };
        assert_eq!(
            planned(text, &without_proxy)[0].1,
            "quay.io/my-org/ci:ci_tool_v1"
        );
    }

    #[test]
    fn every_state_is_named_as_in_json() {
        let why = || "why".to_owned();
        let states = [
            State::UpToDate { digest: why() },
            State::Copy {
                source_digest: why(),
                target_digest: None,
            },
            State::Unreachable { reason: why() },
            State::Invalid { reason: why() },
            State::Ignored,
            State::Absent { reason: why() },
        ];
        for state in states {
            let json = serde_json::to_value(&state).unwrap();
            assert_eq!(json["state"], state.kind().name());
            assert_eq!(serde_json::to_value(state.kind()).unwrap(), json["state"]);
            assert_eq!(state.kind().to_string(), state.kind().name());
        }
    }
}
