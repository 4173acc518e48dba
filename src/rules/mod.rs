//! The checks, one file per diagnostic code. [`check`] runs them all over a loaded config.

mod docker_hub_source;
mod duplicate_key;
mod go_regexp;
mod ignored_source;
mod invalid_art_image;
mod invalid_art_regex;
mod invalid_image_reference;
mod invalid_qci_source;
mod invalid_qci_tag;
mod invalid_source;
mod invalid_target;
mod qci_tag_collision;
pub mod target_promoted;
mod unknown_field;
mod unquoted_scalar;
mod untagged_source;
mod wrong_type;

use crate::config::model::{Body, Config, Entry, SourceRef};
use crate::diag::Diagnostic;
use crate::promoted::PromotedTags;
use crate::reference::{ImageRef, ReferenceError, parse_image};
use std::sync::Arc;

/// Where QCI lives upstream; forks name their own with `--target-repository`.
pub const DEFAULT_TARGET_REPOSITORY: &str = "quay.io/openshift/ci";
/// The pull-through alias of the upstream QCI repository, also accepted in `qciToAppCIImages`.
pub const QCI_PROXY_REPOSITORY: &str = "quay-proxy.ci.openshift.org/openshift/ci";
/// The app.ci registry that imagestreamtag sources live on.
pub const DEFAULT_ISTAG_REGISTRY: &str = "registry.ci.openshift.org";

/// Settings that differ between openshift/release and forks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The repository images are mirrored into (`quay.io/openshift/ci`).
    pub target_repository: String,
    /// The registry holding imagestreamtag sources (`registry.ci.openshift.org`), which
    /// `qciToAppCIImages` entries are copied back into.
    pub istag_registry: String,
    /// The host QCI is pulled through when copying back to app.ci; `None`: the upstream's
    /// pull-through alias for the upstream QCI, else the target repository's own host.
    pub qci_pull_registry: Option<String>,
    /// The tags ci-operator configs promote, for `target-promoted`; `None` when no ci-operator
    /// config folder was read, and then that rule does not run.
    pub promoted: Option<Arc<PromotedTags>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target_repository: DEFAULT_TARGET_REPOSITORY.to_owned(),
            istag_registry: DEFAULT_ISTAG_REGISTRY.to_owned(),
            qci_pull_registry: None,
            promoted: None,
        }
    }
}

impl Options {
    /// The repositories a `qciToAppCIImages` image may come from.
    pub fn qci_repositories(&self) -> Vec<String> {
        let mut repositories = vec![self.target_repository.clone()];
        if self.target_repository == DEFAULT_TARGET_REPOSITORY {
            repositories.push(QCI_PROXY_REPOSITORY.to_owned());
        }
        let pull = self.qci_pull_repository();
        if !repositories.contains(&pull) {
            repositories.push(pull);
        }
        repositories
    }

    /// QCI as `qciToAppCIImages` pulls it: the target repository's path on
    /// [`Options::qci_pull_registry`].
    pub fn qci_pull_repository(&self) -> String {
        match &self.qci_pull_registry {
            Some(host) => {
                let path = self
                    .target_repository
                    .split_once('/')
                    .map_or("", |(_, path)| path);
                format!("{host}/{path}")
            }
            None if self.target_repository == DEFAULT_TARGET_REPOSITORY => {
                QCI_PROXY_REPOSITORY.to_owned()
            }
            None => self.target_repository.clone(),
        }
    }

    /// The pull spec of an imagestreamtag source.
    pub fn istag_pull_spec(&self, namespace: &str, name: &str, tag: &str) -> String {
        format!("{}/{namespace}/{name}:{tag}", self.istag_registry)
    }

    /// A source as a pull spec, as written: an imagestreamtag becomes its app.ci pull spec.
    pub fn source_pull_spec(&self, source: SourceRef<'_>) -> String {
        match source {
            SourceRef::Image(image) => image.value.clone(),
            SourceRef::ImageStreamTag {
                namespace,
                name,
                tag,
            } => self.istag_pull_spec(&namespace.value, &name.value, &tag.value),
        }
    }
}

/// A `supplementalCIImages` entry with its source parsed once for every rule.
pub(crate) struct SourcedEntry<'a> {
    pub entry: &'a Entry,
    pub source: Option<SourceRef<'a>>,
    /// The parsed `image:` when the source is one.
    pub image: Option<Result<ImageRef, ReferenceError>>,
}

/// What every rule sees.
pub(crate) struct Context<'a> {
    pub config: &'a Config,
    pub options: &'a Options,
    pub supplemental: Vec<SourcedEntry<'a>>,
}

impl<'a> Context<'a> {
    fn new(config: &'a Config, options: &'a Options) -> Self {
        let supplemental = config
            .supplemental_entries()
            .map(|entry| {
                let source = entry.body.source();
                let image = match source {
                    Some(SourceRef::Image(image)) => Some(parse_image(&image.value)),
                    _ => None,
                };
                SourcedEntry {
                    entry,
                    source,
                    image,
                }
            })
            .collect();
        Context {
            config,
            options,
            supplemental,
        }
    }

    /// Entries whose `image:` parsed, with the parsed image.
    pub fn parsed_images(&self) -> impl Iterator<Item = (&SourcedEntry<'a>, &ImageRef)> {
        self.supplemental
            .iter()
            .filter_map(|e| match (&e.source, &e.image) {
                (Some(SourceRef::Image(_)), Some(Ok(image))) => Some((e, image)),
                _ => None,
            })
    }
}

type Rule = fn(&Context<'_>, &mut Vec<Diagnostic>);

/// Every rule, in the order of `docs/rules.md`.
const RULES: &[Rule] = &[
    wrong_type::check,
    duplicate_key::check,
    unknown_field::check,
    invalid_target::check,
    invalid_qci_tag::check,
    qci_tag_collision::check,
    target_promoted::check,
    invalid_source::check,
    unquoted_scalar::check,
    invalid_image_reference::check,
    docker_hub_source::check,
    untagged_source::check,
    ignored_source::check,
    invalid_art_image::check,
    invalid_art_regex::check,
    invalid_qci_source::check,
];

/// Runs every rule over `config`. Never fails: problems are diagnostics.
pub fn check(config: &Config, options: &Options) -> Vec<Diagnostic> {
    let context = Context::new(config, options);
    let mut diagnostics = Vec::new();
    for rule in RULES {
        rule(&context, &mut diagnostics);
    }
    diagnostics
}

/// `a`, `a` and `b`, `a`, `b` and `c`: for lists of names in messages.
pub(crate) fn join_names<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    join(&quoted)
}

/// The allowed name closest to a misspelling, when it is close enough to be a likely typo.
pub(crate) fn suggestion<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    allowed
        .iter()
        .map(|known| (strsim::damerau_levenshtein(&lower, known), *known))
        .filter(|&(distance, known)| distance <= 2.min(known.len() / 2))
        .min()
        .map(|(_, known)| known)
}

/// Whether `body` has a field that looks like a misspelling of `wanted`. Rules use it to stay
/// quiet about a "missing" field that `unknown-field` already explains.
pub(crate) fn has_misspelling_of(body: &Body, wanted: &str) -> bool {
    body.fields().iter().any(|f| {
        !crate::config::model::go_name_matches(&f.name.value, wanted)
            && suggestion(&f.name.value, &[wanted]).is_some()
    })
}

/// Joins phrases as prose: `a`, `a and b`, `a, b and c`.
pub(crate) fn join(phrases: &[String]) -> String {
    join_with(phrases, "and")
}

/// Joins alternatives as prose: `a`, `a or b`, `a, b or c`.
pub(crate) fn join_alternatives<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    join_with(&quoted, "or")
}

fn join_with(phrases: &[String], conjunction: &str) -> String {
    match phrases {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}
