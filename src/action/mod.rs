//! `qci-mirror action`: what the container action does for each GitHub event. Settings come
//! from the `QCI_*` variables `action.yml` maps its inputs to; each event has its own module.

mod checkout;
mod mapping_files;

mod pull_request;

use crate::cli::{EXIT_OK, EXIT_USAGE};
use crate::github::api::Repository;
use crate::github::commands::add_mask;
use crate::rules::{DEFAULT_ISTAG_REGISTRY, DEFAULT_TARGET_REPOSITORY, Options};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

pub use pull_request::{PullRequest, pull_request_from_event};

/// Where openshift/release keeps the config; the `config_path` input overrides it.
const DEFAULT_CONFIG_PATH: &str = crate::cli::DEFAULT_CONFIG_PATH;

/// Which findings fail the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Errors in entries the pull request adds or edits (and new file-level errors).
    Changed,
    /// Every error, anywhere in the file.
    All,
    /// Nothing: report only.
    Never,
}

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
    fail_on: Option<String>,
    target_repository: Option<String>,
    istag_registry: Option<String>,
    github_token: Option<String>,
    check_name: Option<String>,
}

/// The action's settings after defaults and validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Workspace-relative path of the config.
    pub config_path: String,
    /// Which findings fail the step.
    pub fail_on: FailOn,
    /// Rule options (target repository, imagestreamtag registry).
    pub options: Options,
    /// The GitHub token, masked before anything else is printed.
    pub github_token: Secret,
    /// The check run's name.
    pub check_name: String,
}

/// Reads the settings from `QCI_*` variables.
pub fn settings(env: &HashMap<String, String>) -> Result<Settings, String> {
    let raw: RawSettings = envy::prefixed("QCI_")
        .from_iter(env.iter().map(|(k, v)| (k.clone(), v.clone())))
        .map_err(|e| format!("invalid action settings: {e}"))?;
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
            return Err(format!(
                "invalid fail_on `{other}`: expected `changed`, `all` or `never`"
            ));
        }
    };
    Ok(Settings {
        config_path: given(raw.config_path).unwrap_or_else(|| DEFAULT_CONFIG_PATH.to_owned()),
        fail_on,
        options: Options {
            target_repository: given(raw.target_repository)
                .unwrap_or_else(|| DEFAULT_TARGET_REPOSITORY.to_owned()),
            istag_registry: given(raw.istag_registry)
                .unwrap_or_else(|| DEFAULT_ISTAG_REGISTRY.to_owned()),
        },
        github_token: Secret(given(raw.github_token).unwrap_or_default()),
        check_name: given(raw.check_name).unwrap_or_else(|| "qci-mirror".to_owned()),
    })
}

/// Runs the action for the event described by `env` (the process environment in production).
pub fn run(env: &HashMap<String, String>, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    match run_inner(env, stdout) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(stderr, "error: {message}");
            EXIT_USAGE
        }
    }
}

fn run_inner(env: &HashMap<String, String>, out: &mut dyn Write) -> Result<u8, String> {
    let settings = settings(env)?;
    // Mask first: nothing printed before this line is protected.
    if let Some(mask) = add_mask(&settings.github_token.0) {
        writeln!(out, "{mask}").map_err(|e| e.to_string())?;
    }
    let event = env
        .get("GITHUB_EVENT_NAME")
        .map(String::as_str)
        .unwrap_or("");
    match event {
        "pull_request" | "pull_request_target" => pull_request::run(env, &settings, out),
        "push" | "schedule" | "workflow_dispatch" => {
            writeln!(
                out,
                "qci-mirror: the `{event}` event will mirror changed entries into {} once the mirror engine lands; this version only validates pull requests, so it does nothing here.",
                settings.options.target_repository
            )
            .map_err(|e| e.to_string())?;
            Ok(EXIT_OK)
        }
        "" => Err("GITHUB_EVENT_NAME is not set: `qci-mirror action` runs inside GitHub Actions; use `qci-mirror validate` elsewhere".to_owned()),
        other => {
            writeln!(out, "qci-mirror: nothing to do for the `{other}` event.")
                .map_err(|e| e.to_string())?;
            Ok(EXIT_OK)
        }
    }
}

/// Appends to a file the runner gave us, creating it if needed.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// The GitHub API client, when the environment names a repository.
fn github_api(
    env: &HashMap<String, String>,
    settings: &Settings,
) -> Result<Option<Repository>, String> {
    let Some(repository) = env.get("GITHUB_REPOSITORY").filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let api_url = env
        .get("GITHUB_API_URL")
        .filter(|u| !u.is_empty())
        .map_or("https://api.github.com", String::as_str);
    Repository::new(api_url, &settings.github_token.0, repository)
        .map(Some)
        .map_err(|e| format!("cannot set up the GitHub API client for {api_url}: {e}"))
}
