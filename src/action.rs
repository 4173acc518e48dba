//! `qci-mirror action`: what the container action does for each GitHub event.
//!
//! On `pull_request` it validates the config at the PR **head** commit (the runner checks out a
//! merge commit, whose line numbers can differ), compares it with the base commit to find the
//! entries the PR adds or edits, and reports through every channel the runner offers:
//! annotations, the job summary and step outputs. It never mirrors on a pull-request event.

use crate::cli::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use crate::config::{self, diff::ConfigDiff};
use crate::diag::{Diagnostic, Severity, Tally};
use crate::github::api::{ApiError, CheckRun, Repository};
use crate::github::commands::{
    Annotation, StopCommands, add_mask, escape_data, omitted_notice, select_annotations,
};
use crate::github::{Finding, PlannedMirror, RunSummary, outputs, summary};
use crate::qci::{parse_target, render_qci_tag};
use crate::report::human;
use crate::rules::{DEFAULT_ISTAG_REGISTRY, DEFAULT_TARGET_REPOSITORY, Options};
use crate::source::SourceFile;
use crate::validate::check_text;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Write;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

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
        "pull_request" | "pull_request_target" => pull_request(env, &settings, out),
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

/// The parts of a `pull_request` payload the action needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The base commit the PR is compared with.
    pub base_sha: String,
    /// The PR's head commit: line numbers refer to this version.
    pub head_sha: String,
    /// Whether the head lives in another repository (its token is read-only).
    pub from_fork: bool,
}

/// Reads the pull request from the event payload.
pub fn pull_request_from_event(payload: &serde_json::Value) -> Result<PullRequest, String> {
    let pr = &payload["pull_request"];
    let text = |pointer: &str| {
        pr.pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "the event payload has no `pull_request{}`",
                    pointer.replace('/', ".")
                )
            })
    };
    let base_repo = pr
        .pointer("/base/repo/full_name")
        .and_then(serde_json::Value::as_str);
    // A deleted fork has a null head repository: treat it as a fork.
    let head_repo = pr
        .pointer("/head/repo/full_name")
        .and_then(serde_json::Value::as_str);
    Ok(PullRequest {
        base_sha: text("/base/sha")?,
        head_sha: text("/head/sha")?,
        from_fork: head_repo.is_none() || head_repo != base_repo,
    })
}

fn pull_request(
    env: &HashMap<String, String>,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<u8, String> {
    let workspace = PathBuf::from(env.get("GITHUB_WORKSPACE").map_or(".", String::as_str));
    let event_path = env
        .get("GITHUB_EVENT_PATH")
        .ok_or("GITHUB_EVENT_PATH is not set")?;
    let payload: serde_json::Value = serde_json::from_slice(
        &std::fs::read(event_path)
            .map_err(|e| format!("cannot read the event payload `{event_path}`: {e}"))?,
    )
    .map_err(|e| format!("the event payload `{event_path}` is not JSON: {e}"))?;
    let pr = pull_request_from_event(&payload)?;

    let path = settings.config_path.as_str();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    // octocrab spawns its request buffer when built, so it must be built inside the runtime.
    let api = {
        let _context = runtime.enter();
        github_api(env, settings)?
    };
    let read = |sha: &str| read_version(&runtime, &workspace, api.as_ref(), sha, path);
    let head_text = read(&pr.head_sha)?.ok_or_else(|| {
        format!(
            "`{path}` does not exist at the pull request head {}",
            pr.head_sha
        )
    })?;
    // A config the PR creates has no base version: every entry is new.
    let base_text = read(&pr.base_sha)?.unwrap_or_default();

    let head = check_text(SourceFile::new(path, head_text), &settings.options);
    let base_file = SourceFile::new(path, base_text);
    let (base_config, _) = config::load(&base_file);
    let base_checked = check_text(base_file, &settings.options);
    let (head_config, _) = config::load(&head.file);
    let diff = config::diff::diff(&base_config, &head_config);

    let entries = config::diff::entry_lines(&head_config);
    let findings = classify(
        path,
        &head.diagnostics,
        &base_checked.diagnostics,
        &diff,
        &entries,
        settings.fail_on,
    );
    let blocking = findings.iter().filter(|f| f.blocking).count();
    let tally = Tally::of(&head.diagnostics);
    let planned = planned_mirrors(&head_config, &diff, &settings.options);

    let w = |e: std::io::Error| e.to_string();
    // The human report quotes the config, so the runner must not read commands in it.
    let fence = StopCommands::new();
    writeln!(out, "{}", fence.begin()).map_err(w)?;
    out.write_all(human::render(&head.file, &head.diagnostics).as_bytes())
        .map_err(w)?;
    writeln!(out, "{}", fence.end()).map_err(w)?;
    let published = publish_check_run(
        &runtime,
        api.as_ref(),
        settings,
        &pr,
        &findings,
        blocking,
        out,
    )?;
    let omitted = if published {
        0
    } else {
        // Workflow commands: the channel that works with any token, fork PRs included.
        let (annotations, omitted) = select_annotations(&findings);
        for annotation in &annotations {
            writeln!(out, "{}", annotation.to_command()).map_err(w)?;
        }
        if let Some(notice) = omitted_notice(omitted) {
            writeln!(out, "{notice}").map_err(w)?;
        }
        omitted
    };
    writeln!(
        out,
        "qci-mirror: {} changed, {}, {} ({} blocking) in `{path}` at {}",
        human::count(diff.changes.len(), "entry"),
        human::count(tally.errors, "error"),
        human::count(tally.warnings, "warning"),
        blocking,
        pr.head_sha
    )
    .map_err(w)?;

    let server = env
        .get("GITHUB_SERVER_URL")
        .map_or("https://github.com", String::as_str);
    let blob_url = env
        .get("GITHUB_REPOSITORY")
        .map(|repo| format!("{server}/{repo}/blob/{}/", pr.head_sha));
    if let Some(summary_path) = env.get("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let run = RunSummary {
            findings: findings.clone(),
            planned: planned.clone(),
            annotations_omitted: omitted,
            blob_url,
        };
        append(Path::new(summary_path), &summary::render_summary(&run))
            .map_err(|e| format!("cannot write the job summary `{summary_path}`: {e}"))?;
    }
    if let Some(output_path) = env.get("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let targets: Vec<&str> = planned.iter().map(|p| p.target.as_str()).collect();
        let targets = serde_json::to_string(&targets).map_err(|e| e.to_string())?;
        let (errors, warnings) = (tally.errors.to_string(), tally.warnings.to_string());
        outputs::write_outputs(
            Path::new(output_path),
            &[
                ("errors", errors.as_str()),
                ("warnings", warnings.as_str()),
                ("changed-targets", targets.as_str()),
            ],
        )
        .map_err(|e| format!("cannot write step outputs `{output_path}`: {e}"))?;
    }
    Ok(if blocking > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

/// Decides, for every head finding, whether it lies in a changed entry and whether it fails the
/// step. A finding outside every entry (a syntax error, an unknown top-level key) counts as
/// changed unless the base has the very same finding. Blocking findings come first.
fn classify<'a>(
    path: &'a str,
    head: &'a [Diagnostic],
    base: &[Diagnostic],
    diff: &ConfigDiff<'_>,
    entries: &[RangeInclusive<u32>],
    fail_on: FailOn,
) -> Vec<Finding<'a>> {
    let base_messages: HashSet<(crate::diag::Code, &str)> =
        base.iter().map(|d| (d.code, d.message.as_str())).collect();
    let mut findings: Vec<Finding<'a>> = head
        .iter()
        .map(|d| {
            let line = d.span.line;
            let outside_entries = !entries.iter().any(|range| range.contains(&line));
            let in_changed_entry = diff.touches_line(line)
                || (outside_entries && !base_messages.contains(&(d.code, d.message.as_str())));
            let blocking = d.severity == Severity::Error
                && match fail_on {
                    FailOn::Changed => in_changed_entry,
                    FailOn::All => true,
                    FailOn::Never => false,
                };
            Finding {
                path,
                diagnostic: d,
                in_changed_entry,
                blocking,
            }
        })
        .collect();
    findings.sort_by_key(|f| {
        (
            !f.blocking,
            f.diagnostic.severity != Severity::Error,
            f.diagnostic.span,
        )
    });
    findings
}

/// The mirrors the PR asks for: every added or edited `supplementalCIImages` entry with a
/// complete source, as `source → target`.
fn planned_mirrors(
    head: &crate::config::model::Config,
    diff: &ConfigDiff<'_>,
    options: &Options,
) -> Vec<PlannedMirror> {
    let changed: HashSet<&str> = diff.changed_supplemental_keys().collect();
    head.supplemental_entries()
        .filter(|e| changed.contains(e.key.value.as_str()) && parse_target(&e.key.value).is_ok())
        .filter_map(|e| {
            let source = options.source_pull_spec(e.body.source()?);
            Some(PlannedMirror {
                key: e.key.value.clone(),
                source,
                target: format!(
                    "{}:{}",
                    options.target_repository,
                    render_qci_tag(&e.key.value)
                ),
            })
        })
        .collect()
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

/// The config at commit `sha`: from git when the checkout has the commit (no API call, works
/// without a token), else from the contents API. `None` when the commit has no such file.
fn read_version(
    runtime: &tokio::runtime::Runtime,
    workspace: &Path,
    api: Option<&Repository>,
    sha: &str,
    path: &str,
) -> Result<Option<String>, String> {
    match (git_show(workspace, sha, path)?, api) {
        (GitRead::File(text), _) => Ok(Some(text)),
        (GitRead::NoFile, _) => Ok(None),
        (GitRead::NoCommit, Some(api)) => runtime
            .block_on(api.file_at(path, sha))
            .map_err(|e| format!("cannot read `{path}` at {sha} from GitHub: {e}")),
        (GitRead::NoCommit, None) => Err(format!(
            "commit {sha} is not in the checkout at `{}` and no repository is set to ask GitHub; check out with `fetch-depth: 2` (or 0) so the pull request's base and head commits are present",
            workspace.display()
        )),
    }
}

/// Publishes every finding as a check run when the token may write; `false` when it may not
/// (fork pull requests get a read-only token) or GitHub refuses, so the caller falls back to
/// workflow commands.
fn publish_check_run(
    runtime: &tokio::runtime::Runtime,
    api: Option<&Repository>,
    settings: &Settings,
    pr: &PullRequest,
    findings: &[Finding<'_>],
    blocking: usize,
    out: &mut dyn Write,
) -> Result<bool, String> {
    let Some(api) = api else {
        return Ok(false);
    };
    if pr.from_fork || settings.github_token.0.is_empty() {
        return Ok(false);
    }
    let annotations: Vec<Annotation> = findings.iter().map(Annotation::from_finding).collect();
    let title = if blocking == 0 {
        "No blocking problems".to_owned()
    } else {
        human::count(blocking, "blocking problem")
    };
    let summary = format!(
        "{} in `{}`; the job summary lists every finding and the entries that will be mirrored.",
        human::count(findings.len(), "finding"),
        settings.config_path
    );
    let run = CheckRun {
        name: &settings.check_name,
        head_sha: &pr.head_sha,
        title: &title,
        summary: &summary,
        success: blocking == 0,
    };
    let w = |e: std::io::Error| e.to_string();
    match runtime.block_on(api.publish_check_run(&run, &annotations)) {
        Ok(_) => {
            writeln!(
                out,
                "qci-mirror: published check run `{}` with {}.",
                settings.check_name,
                human::count(annotations.len(), "annotation")
            )
            .map_err(w)?;
            Ok(true)
        }
        // The documented case of a read-only token: quietly use workflow commands.
        Err(ApiError::Forbidden(_)) => Ok(false),
        Err(error) => {
            let message =
                format!("could not publish the check run, annotating the log instead: {error}");
            writeln!(out, "::warning title=qci-mirror::{}", escape_data(&message)).map_err(w)?;
            Ok(false)
        }
    }
}

/// What git has of a file at a commit.
enum GitRead {
    /// The file's text.
    File(String),
    /// The commit exists but has no such file.
    NoFile,
    /// The commit is not in the checkout (a shallow clone).
    NoCommit,
}

/// The file at `path` in commit `sha`, read with git from the checkout.
///
/// The runner checks out the merge commit; `actions/checkout` with `fetch-depth: 2` also brings
/// its parents, the base and head commits. `safe.directory` is set because the workspace is
/// owned by another user inside the container (actions/runner#2033).
fn git_show(workspace: &Path, sha: &str, path: &str) -> Result<GitRead, String> {
    if !sha.bytes().all(|b| b.is_ascii_hexdigit()) || sha.is_empty() {
        return Err(format!("`{sha}` is not a commit id"));
    }
    let has_commit = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "cat-file", "-e"])
        .arg(format!("{sha}^{{commit}}"))
        .current_dir(workspace)
        .output();
    let has_commit = match has_commit {
        Ok(output) => output,
        // The action's image has no git; the contents API then serves every version.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(GitRead::NoCommit),
        Err(e) => return Err(format!("cannot run git in `{}`: {e}", workspace.display())),
    };
    if !has_commit.status.success() {
        return Ok(GitRead::NoCommit);
    }
    let shown = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "show"])
        .arg(format!("{sha}:{path}"))
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !shown.status.success() {
        return Ok(GitRead::NoFile);
    }
    String::from_utf8(shown.stdout)
        .map(GitRead::File)
        .map_err(|_| format!("`{path}` at {sha} is not UTF-8 text"))
}

/// Appends to a file the runner gave us, creating it if needed.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}
