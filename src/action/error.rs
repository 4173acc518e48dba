//! Why the action fails. Each layer has its own error; [`Failure`] gathers them for
//! [`super::run`], the one place that turns a failure into a message and an exit code.

use super::checkout::ReadError;
use super::ci_operator::FolderError;
use crate::RuntimeError;
use crate::github::api::ApiError;
use crate::qci::RepositoryError;
use crate::registry::SetupError;
use crate::selection::UnknownNames;
use crate::settings::CredentialsError;
use crate::shard::ShardError;
use std::path::PathBuf;

/// An input (a `QCI_*` variable) the action cannot use.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The variables cannot be read at all.
    #[error("invalid action settings: {0}")]
    Unreadable(#[from] envy::Error),
    /// A value outside what the input takes.
    #[error("invalid {name} `{value}`: expected {expected}")]
    Invalid {
        /// The input.
        name: &'static str,
        /// What it was given.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// A target repository that is not one.
    #[error("invalid target_repository: {0}")]
    TargetRepository(#[from] RepositoryError),
    /// A shard that is not `i/n`.
    #[error(transparent)]
    Shard(#[from] ShardError),
}

/// The event the runner describes cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not run by GitHub Actions.
    #[error(
        "GITHUB_EVENT_NAME is not set: `qci-mirror action` runs inside GitHub Actions; use `qci-mirror validate` elsewhere"
    )]
    NameNotSet,
    /// No payload file named.
    #[error("GITHUB_EVENT_PATH is not set")]
    PathNotSet,
    /// The payload file cannot be read.
    #[error("cannot read the event payload `{}`: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The payload file is not JSON.
    #[error("the event payload `{}` is not JSON: {source}", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// Where the JSON breaks.
        source: serde_json::Error,
    },
    /// A field the action needs is missing from the payload (or is not text).
    #[error("the {payload} has no `{field}`")]
    MissingField {
        /// Which payload, as the message names it (`push event payload`).
        payload: &'static str,
        /// The field, dotted (`pull_request.base.sha`).
        field: String,
    },
}

/// The job summary or the step outputs cannot be written.
#[derive(Debug, thiserror::Error)]
pub(super) enum OutputError {
    /// `GITHUB_STEP_SUMMARY` cannot be appended to.
    #[error("cannot write the job summary `{}`: {source}", path.display())]
    Summary {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `GITHUB_OUTPUT` cannot be written.
    #[error("cannot write step outputs `{}`: {source}", path.display())]
    Outputs {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Why the action fails the step, whatever the event.
#[derive(Debug, thiserror::Error)]
pub(super) enum Failure {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    CiOperatorConfig(#[from] FolderError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    RegistrySetup(#[from] SetupError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot set up the GitHub API client for {api_url}: {source}")]
    GitHubClient { api_url: String, source: ApiError },
    /// The config is not in a commit the event names.
    #[error("`{path}` does not exist at the {commit} {sha}")]
    ConfigAbsent {
        path: String,
        /// Which commit, as the message names it (`pushed commit`).
        commit: &'static str,
        sha: String,
    },
    /// A guard: pull-request events only validate.
    #[error("mirroring never runs for pull-request events")]
    MirrorOnPullRequest,
    /// A dispatch's `targets` input names something the config does not have.
    #[error(transparent)]
    UnknownTargets(#[from] UnknownNames),
}
