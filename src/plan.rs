//! Which entries a config has and what a mirror run would do with each. [`prepare`] resolves
//! the entries (source and target pull specs, validation errors, `ignoredSources`) for every
//! command that works on them: `plan`, `mirror`, the action and the network check. [`plan`] is
//! the dry run: read-only HEAD requests compare each source's manifest digest with its target
//! tag's. Saying the result is [`crate::report::plan`]'s business.

use crate::config::model::{Config, Entry};
use crate::diag::Diagnostic;
use crate::entries::Layout;
use crate::qci::{parse_target, render_qci_tag};
use crate::registry::{Lookup, SOURCE_ABSENT, SOURCE_PRIVATE, Session};
use crate::rules::Options;
use crate::tasks::{Bounded, Ended};
use oci_client::Reference;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;

/// How many entries are looked up at once. Each costs two HEAD requests.
pub const DEFAULT_CONCURRENCY: usize = 8;

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
/// `docs/json-output.md`, in the order of [`Counts`].
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

/// An entry ready to look up (or copy): its index in the planned list and its references.
pub(crate) struct Lookups {
    pub index: usize,
    pub section: Section,
    pub source: Reference,
    pub target: Reference,
}

pub use crate::entries::Section;

/// The entries of `config`, each with its state where no lookup is needed (invalid, ignored),
/// and the lookups to make for the rest: `supplementalCIImages` first, then `qciToAppCIImages`.
pub(crate) fn prepare(
    config: &Config,
    diagnostics: &[Diagnostic],
    options: &Options,
) -> (Vec<PlannedEntry>, Vec<Lookups>) {
    let layout = Layout::of(config);
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
        let error = layout
            .first_error(diagnostics, section, line)
            .map(|d| d.message.as_str());
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

/// Builds the plan for the entries of `config` (with its validation `diagnostics`) that
/// `select` picks, looking up at most `concurrency` entries at a time and telling
/// `looked_up(done, total)` after each.
pub async fn plan(
    config: &Config,
    diagnostics: &[Diagnostic],
    options: &Options,
    session: Arc<Session>,
    select: &(dyn Fn(&PlannedEntry) -> bool + Sync),
    concurrency: usize,
    looked_up: &mut dyn FnMut(usize, usize),
) -> Vec<PlannedEntry> {
    let (mut planned, lookups) = prepare(config, diagnostics, options);
    let mut tasks = Bounded::new(concurrency);
    let mut total = 0;
    for lookup in lookups.into_iter().filter(|l| select(&planned[l.index])) {
        let session = Arc::clone(&session);
        tasks.spawn(
            lookup.index,
            async move { look_up(&session, &lookup).await },
        );
        total += 1;
    }
    let mut done = 0;
    // A lookup that panicked leaves its entry marked as not finished.
    while let Some((index, ended)) = tasks.next().await {
        if let Ended::Finished(state) = ended {
            planned[index].state = state;
        }
        done += 1;
        looked_up(done, total);
    }
    planned.retain(|entry| select(entry));
    planned
}

async fn look_up(session: &Session, lookup: &Lookups) -> State {
    let (source, target) = (&lookup.source, &lookup.target);
    let source_auth = session.credentials.for_source(source);
    let source_digest = match session
        .retry
        .run(source.resolve_registry(), || {
            session.sources.manifest_digest(source, &source_auth)
        })
        .await
        .into()
    {
        Lookup::Found(digest) => digest,
        // ci-images-mirror skips a copy back whose QCI image is gone.
        Lookup::Absent if lookup.section == Section::QciToAppCi => {
            return State::Absent {
                reason: "not in QCI: nothing to copy back".to_owned(),
            };
        }
        Lookup::Absent => {
            return State::Unreachable {
                reason: SOURCE_ABSENT.to_owned(),
            };
        }
        Lookup::Unauthorized => {
            return State::Unreachable {
                reason: SOURCE_PRIVATE.to_owned(),
            };
        }
        Lookup::Failed(reason) => return State::Unreachable { reason },
    };
    let target_auth = session.credentials.for_target(target);
    match session
        .retry
        .run(target.resolve_registry(), || {
            session.target.manifest_digest(target, &target_auth)
        })
        .await
        .into()
    {
        Lookup::Found(digest) if digest == source_digest => State::UpToDate { digest },
        Lookup::Found(digest) => State::Copy {
            source_digest,
            target_digest: Some(digest),
        },
        // Registries answer 401/403 for a tag that does not exist yet as well (ggcr treats both
        // as absent): copying will tell the two apart.
        Lookup::Absent | Lookup::Unauthorized => State::Copy {
            source_digest,
            target_digest: None,
        },
        Lookup::Failed(reason) => State::Unreachable {
            reason: format!("cannot read the target: {reason}"),
        },
    }
}

/// Counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Entries already mirrored.
    pub up_to_date: usize,
    /// Entries a mirror run would copy.
    pub copy: usize,
    /// Entries whose source could not be read.
    pub unreachable: usize,
    /// Entries with validation errors.
    pub invalid: usize,
    /// Entries whose source is ignored.
    pub ignored: usize,
    /// `qciToAppCIImages` entries whose QCI image does not exist.
    pub absent: usize,
}

impl Counts {
    /// Counts `entries`.
    pub fn of(entries: &[PlannedEntry]) -> Self {
        let mut counts = Counts::default();
        for entry in entries {
            let count = match entry.state.kind() {
                StateKind::UpToDate => &mut counts.up_to_date,
                StateKind::Copy => &mut counts.copy,
                StateKind::Unreachable => &mut counts.unreachable,
                StateKind::Invalid => &mut counts.invalid,
                StateKind::Ignored => &mut counts.ignored,
                StateKind::Absent => &mut counts.absent,
            };
            *count += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn planned(text: &str, options: &Options) -> Vec<(Section, String, String, StateKind)> {
        let checked =
            crate::validate::check_text(SourceFile::new("_config.yaml", text.to_owned()), options);
        let (planned, _) = prepare(&checked.config, &checked.diagnostics, options);
        planned
            .into_iter()
            .map(|e| (e.section, e.source, e.target, e.state.kind()))
            .collect()
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
