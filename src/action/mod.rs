//! `qci-mirror action`: what the container action does for each GitHub event. Settings come
//! from the `QCI_*` variables `action.yml` maps its inputs to; each event has its own module.

mod checkout;
mod ci_operator;
mod environment;
mod error;
mod mapping_files;

mod pull_request;
mod sync;

use crate::commands::{EXIT_OK, EXIT_USAGE};
use crate::github::api::Repository;
use crate::github::console::{Command, Console};
use crate::network_check;
use crate::plan;
use crate::registry::{Connection, Credentials, DEFAULT_IDLE_TIMEOUT, hosts};
use crate::rules::{DEFAULT_ISTAG_REGISTRY, DEFAULT_TARGET_REPOSITORY, Options};
use crate::settings::CredentialsError;
use crate::shard::Shard;
use error::Failure;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use environment::Environment;
pub use error::{EventError, SettingsError};
pub use pull_request::{PullRequest, pull_request_from_event};

/// Where openshift/release keeps the config; the `config_path` input overrides it.
const DEFAULT_CONFIG_PATH: &str = crate::settings::DEFAULT_CONFIG_PATH;

pub use crate::verdict::FailOn;

/// A token, printed only as `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The `QCI_*` variables that `action.yml` maps the inputs to. Every input is always exported,
/// unset ones as empty strings, so every field is text and empty means "default".
#[derive(Debug, Default, Deserialize)]
struct RawSettings {
    config_path: Option<String>,
    ci_operator_config: Option<String>,
    fail_on: Option<String>,
    target_repository: Option<String>,
    istag_registry: Option<String>,
    qci_pull_registry: Option<String>,
    github_token: Option<String>,
    check_name: Option<String>,
    network_checks: Option<String>,
    shard: Option<String>,
    backup: Option<String>,
    targets: Option<String>,
    mirror_any_branch: Option<String>,
    plain_http: Option<String>,
    ca_file: Option<String>,
    concurrency: Option<String>,
    host_concurrency: Option<String>,
    timeout: Option<String>,
    network_checks_timeout: Option<String>,
    run_timeout: Option<String>,
}

/// How the action reaches registries and what it mirrors (push, schedule, workflow_dispatch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSettings {
    /// On pull requests, check new and changed entries against the registries.
    pub network_checks: bool,
    /// This job's part of a matrix, if any.
    pub shard: Option<Shard>,
    /// Keep a replaced target image under a backup tag before moving the tag.
    pub backup: bool,
    /// For `workflow_dispatch`: only these targets (keys, QCI tags or full references).
    pub targets: Vec<String>,
    /// For `workflow_dispatch`: mirror from a branch other than the default one too.
    pub any_branch: bool,
    /// Registries spoken to over plain HTTP (`host:port`, for local registries).
    pub plain_http: Vec<String>,
    /// Extra CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Entries worked on at once.
    pub concurrency: usize,
    /// Requests in flight per registry host.
    pub host_concurrency: usize,
    /// The longest any request (to GitHub or a registry) waits for a connection or its next
    /// bytes.
    pub idle_timeout: Duration,
    /// On pull requests, the time all network checks together may take; entries not checked
    /// by then are reported unchecked.
    pub network_checks_budget: Duration,
    /// On push, schedule and dispatch, the whole mirror run's time.
    pub run_timeout: Duration,
}

/// The action's settings after defaults and validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Workspace-relative path of the config.
    pub config_path: String,
    /// Workspace-relative ci-operator config folder, when the `ci_operator_config` input names
    /// one; else `ci-operator/config` beside the config is used if the checkout has it.
    pub ci_operator_config: Option<String>,
    /// Which findings fail the step.
    pub fail_on: FailOn,
    /// Rule options (target repository, imagestreamtag registry).
    pub options: Options,
    /// The GitHub token, masked before anything else is printed.
    pub github_token: Secret,
    /// The check run's name.
    pub check_name: String,
    /// Registry settings.
    pub mirror: MirrorSettings,
}

/// Reads the settings from `QCI_*` variables.
pub fn settings(environment: &Environment) -> Result<Settings, SettingsError> {
    let raw: RawSettings = envy::prefixed("QCI_").from_iter(
        environment
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    )?;
    let given =
        |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let fail_on = match given(raw.fail_on)
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("changed") => FailOn::Changed,
        Some("all") => FailOn::All,
        Some("never") => FailOn::Never,
        Some(other) => {
            return Err(SettingsError::Invalid {
                name: "fail_on",
                value: other.to_owned(),
                expected: "`changed`, `all` or `never`",
            });
        }
    };
    Ok(Settings {
        config_path: given(raw.config_path).unwrap_or_else(|| DEFAULT_CONFIG_PATH.to_owned()),
        ci_operator_config: given(raw.ci_operator_config),
        fail_on,
        options: Options {
            target_repository: given(raw.target_repository)
                .map(|repository| crate::qci::parse_repository(&repository))
                .transpose()?
                .unwrap_or_else(|| DEFAULT_TARGET_REPOSITORY.to_owned()),
            istag_registry: given(raw.istag_registry)
                .unwrap_or_else(|| DEFAULT_ISTAG_REGISTRY.to_owned()),
            qci_pull_registry: given(raw.qci_pull_registry),
            // Read from the checkout by the events that validate, not here.
            promoted: None,
        },
        github_token: Secret(given(raw.github_token).unwrap_or_default()),
        check_name: given(raw.check_name).unwrap_or_else(|| "qci-mirror".to_owned()),
        mirror: MirrorSettings {
            shard: given(raw.shard).map(|s| Shard::parse(&s)).transpose()?,
            network_checks: flag(given(raw.network_checks), "network_checks")?,
            backup: flag(given(raw.backup), "backup")?,
            targets: words(given(raw.targets)),
            any_branch: flag_or(given(raw.mirror_any_branch), "mirror_any_branch", false)?,
            plain_http: words(given(raw.plain_http)),
            // Relative to the workspace, as documented, wherever the process was started.
            ca_file: given(raw.ca_file).map(|file| environment.workspace.join(file)),
            concurrency: count(
                given(raw.concurrency),
                "concurrency",
                plan::DEFAULT_CONCURRENCY,
            )?,
            host_concurrency: count(
                given(raw.host_concurrency),
                "host_concurrency",
                hosts::DEFAULT_LIMIT,
            )?,
            idle_timeout: seconds(given(raw.timeout), "timeout", DEFAULT_IDLE_TIMEOUT)?,
            network_checks_budget: seconds(
                given(raw.network_checks_timeout),
                "network_checks_timeout",
                network_check::DEFAULT_BUDGET,
            )?,
            run_timeout: seconds(
                given(raw.run_timeout).map(|minutes| minutes_as_seconds(&minutes)),
                "run_timeout",
                crate::mirror::run::DEFAULT_DEADLINE,
            )?,
        },
    })
}

/// A boolean input, `true` when not given.
fn flag(value: Option<String>, name: &'static str) -> Result<bool, SettingsError> {
    flag_or(value, name, true)
}

/// A boolean input, `default` when not given.
fn flag_or(
    value: Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, SettingsError> {
    match value.map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(SettingsError::Invalid {
            name,
            value: other.to_owned(),
            expected: "`true` or `false`",
        }),
    }
}

/// A list input: words separated by commas, spaces or lines.
fn words(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A number of minutes as seconds, for [`seconds`]; anything else is left for it to refuse.
fn minutes_as_seconds(minutes: &str) -> String {
    minutes
        .parse::<u64>()
        .ok()
        .and_then(|m| m.checked_mul(60))
        .map_or_else(|| minutes.to_owned(), |s| s.to_string())
}

/// A duration input in whole seconds, at least 1.
fn seconds(
    value: Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, SettingsError> {
    let default = usize::try_from(default.as_secs()).unwrap_or(usize::MAX);
    count(value, name, default).map(|n| Duration::from_secs(n as u64))
}

fn count(
    value: Option<String>,
    name: &'static str,
    default: usize,
) -> Result<usize, SettingsError> {
    match value {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(SettingsError::Invalid {
                name,
                value: text,
                expected: "a positive whole number",
            }),
        },
    }
}

/// Runs the action for the event described by `env` (the process environment in production).
pub fn run(env: &HashMap<String, String>, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    let mut console = Console::new(stdout, stderr);
    let code = match run_inner(&Environment::new(env), &mut console) {
        Ok(code) => code,
        Err(failure) => {
            console.fail(&failure.to_string());
            EXIT_USAGE
        }
    };
    // A log that could not be written is a failed step, even when the work was done.
    match console.finish() {
        Ok(()) => code,
        Err(_) => code.max(EXIT_USAGE),
    }
}

fn run_inner(environment: &Environment, console: &mut Console<'_>) -> Result<u8, Failure> {
    // Mask first: nothing printed before this line is protected, and reading the settings and
    // credentials below can fail with messages that must not show a secret.
    for secret in secret_values(&environment.variables) {
        console.issue(Command::Mask(&secret));
    }
    let settings = settings(environment)?;
    let Some(event) = environment.event_name.as_deref() else {
        return Err(EventError::NameNotSet.into());
    };
    match event {
        "pull_request" | "pull_request_target" | "merge_group" => {
            pull_request::run(event, environment, &settings, console)
        }
        "push" | "schedule" | "workflow_dispatch" => {
            sync::run(event, environment, &settings, console)
        }
        other => {
            console.say(&format!(
                "qci-mirror: nothing to do for the `{other}` event."
            ));
            Ok(EXIT_OK)
        }
    }
}

/// The variables that carry secrets, as given: their values, and each line of a value on
/// several lines (the runner masks line by line). Values parsed out of them (auth-file
/// passwords, `user:password` in base64) are masked once parsed.
const SECRET_VARIABLES: [&str; 6] = [
    "QCI_GITHUB_TOKEN",
    "QCI_REGISTRY_AUTH",
    "QCI_TARGET_TOKEN",
    "QCI_TARGET_PASSWORD",
    "QCI_APP_CI_TOKEN",
    "QCI_APP_CI_PASSWORD",
];

fn secret_values(env: &HashMap<String, String>) -> Vec<String> {
    let mut values = Vec::new();
    for name in SECRET_VARIABLES {
        let Some(value) = env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
            continue;
        };
        values.push(value.to_owned());
        if value.contains('\n') {
            values.extend(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|line| line.len() > 3)
                    .map(str::to_owned),
            );
        }
    }
    values
}

/// Appends to a file the runner gave us, creating it if needed.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// A current-thread runtime, and on it the GitHub API client when the environment names a
/// repository. octocrab spawns its request buffer when built, so it is built inside the
/// runtime.
fn github_client(
    environment: &Environment,
    settings: &Settings,
) -> Result<(tokio::runtime::Runtime, Option<Repository>), Failure> {
    let runtime = crate::current_thread_runtime()?;
    let api = {
        let _context = runtime.enter();
        github_api(environment, settings)?
    };
    Ok((runtime, api))
}

fn github_api(
    environment: &Environment,
    settings: &Settings,
) -> Result<Option<Repository>, Failure> {
    let Some(repository) = &environment.repository else {
        return Ok(None);
    };
    let api_url = environment.api_url.as_str();
    Repository::new(
        api_url,
        &settings.github_token.0,
        repository,
        settings.mirror.idle_timeout,
    )
    .map(Some)
    .map_err(|source| Failure::GitHubClient {
        api_url: api_url.to_owned(),
        source,
    })
}

/// How to reach registries and with which credentials: the settings, and the same environment
/// variables `qci-mirror mirror` reads (`QCI_REGISTRY_AUTH`, `REGISTRY_AUTH_FILE`,
/// `DOCKER_CONFIG`; `QCI_TARGET_TOKEN` or `QCI_TARGET_USERNAME`/`QCI_TARGET_PASSWORD`;
/// `QCI_APP_CI_*` likewise for the app.ci registry).
pub(super) fn registries(
    settings: &MirrorSettings,
    options: &Options,
    env: &HashMap<String, String>,
) -> Result<(Connection, Credentials), CredentialsError> {
    Ok((
        Connection {
            plain_http: settings.plain_http.clone(),
            ca_file: settings.ca_file.clone(),
            idle_timeout: settings.idle_timeout,
        },
        crate::settings::credentials(None, env, &options.istag_registry)?,
    ))
}
