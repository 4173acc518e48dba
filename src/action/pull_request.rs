//! `pull_request`: validates the config at the PR **head** commit (the runner checks out a merge
//! commit, whose line numbers can differ), compares it with the base commit to find the entries
//! the PR adds or edits, checks those against the registries (read-only, see
//! [`crate::network_check`]) and the mapping files it touches, and reports through every channel
//! the runner offers: a check run or annotations, the job summary and step outputs. It never
//! mirrors.

use super::checkout::{Commits, ReadError};
use super::environment::payload_text;
use super::error::{EventError, Failure, OutputError};
use super::mapping_files::{self, HeadConfig, Version};
use super::{Environment, Settings, append, github_client};
use crate::commands::{EXIT_FINDINGS, EXIT_OK};
use crate::config;
use crate::config::model::Config;
use crate::diag::{Diagnostic, Severity, Tally};
use crate::entries::diff::{self, ConfigDiff};
use crate::github::api::{CheckRun, PublishError, Repository};
use crate::github::commands::{Annotation, Level, omitted_notice, select_annotations};
use crate::github::console::{Command, Console};
use crate::github::{Finding, PlannedMirror, RunSummary, outputs, summary};
use crate::network_check;
use crate::qci::{parse_target, render_qci_tag};
use crate::registry::Session;
use crate::report::human;
use crate::rules::{Options, target_promoted};
use crate::source::SourceFile;
use crate::validate::{Checked, check_bytes};
use crate::verdict::{classify, finding};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The parts of a `pull_request` payload the action needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The base commit the PR is compared with.
    pub base_sha: String,
    /// The PR's head commit: line numbers refer to this version.
    pub head_sha: String,
    /// Whether the head lives in another repository (its token is read-only).
    pub from_fork: bool,
    /// The PR's number, for the files API.
    pub number: Option<u64>,
}

/// Reads the pull request from the event payload.
pub fn pull_request_from_event(payload: &serde_json::Value) -> Result<PullRequest, EventError> {
    let pr = &payload["pull_request"];
    let text = |pointer: &str| payload_text(payload, pointer, "event payload").map(str::to_owned);
    let base_repo = pr
        .pointer("/base/repo/full_name")
        .and_then(serde_json::Value::as_str);
    // A deleted fork has a null head repository: treat it as a fork.
    let head_repo = pr
        .pointer("/head/repo/full_name")
        .and_then(serde_json::Value::as_str);
    Ok(PullRequest {
        base_sha: text("/pull_request/base/sha")?,
        head_sha: text("/pull_request/head/sha")?,
        from_fork: head_repo.is_none() || head_repo != base_repo,
        number: pr.get("number").and_then(serde_json::Value::as_u64),
    })
}

/// The commits a `merge_group` event (the merge queue) checks: the queue's base branch tip
/// and the commit that merges the queued pull requests onto it. It is checked like a pull
/// request, before anything merges, and never mirrors.
pub fn merge_group_from_event(payload: &serde_json::Value) -> Result<PullRequest, EventError> {
    let text = |pointer: &str| payload_text(payload, pointer, "event payload").map(str::to_owned);
    Ok(PullRequest {
        base_sha: text("/merge_group/base_sha")?,
        head_sha: text("/merge_group/head_sha")?,
        // The queue's commits live in the repository itself.
        from_fork: false,
        number: None,
    })
}

/// Runs a `pull_request` or `merge_group` event: gathers the config's versions, the diff and
/// the mapping files, evaluates the findings, and publishes them.
pub(super) fn run(
    event: &str,
    environment: &Environment,
    settings: &Settings,
    console: &mut Console<'_>,
) -> Result<u8, Failure> {
    let settings =
        &super::ci_operator::with_promoted_tags(settings, &environment.workspace, console)?;
    let payload = environment.event_payload()?;
    let pr = if event == "merge_group" {
        merge_group_from_event(&payload)?
    } else {
        pull_request_from_event(&payload)?
    };
    let path = settings.config_path.as_str();
    let (runtime, api) = github_client(environment, settings)?;
    let commits = Commits::new(&runtime, api.as_ref(), environment);

    // Gather.
    let mut versions = read_versions(&commits, environment, settings, &pr)?;
    let head_config = std::mem::take(&mut versions.head.config);
    let diff = pull_request_diff(&versions, &head_config, path);
    // `target-promoted` is an error on the keys this pull request adds or changes.
    target_promoted::escalate_changed(
        &mut versions.head.diagnostics,
        &diff.changed_supplemental_key_lines(),
    );
    if settings.mirror.network_checks {
        let found = network_checks(
            &runtime,
            &environment.variables,
            settings,
            &Versions {
                head: &head_config,
                head_diagnostics: &versions.head.diagnostics,
                base: &versions.base.config,
                diff: &diff,
            },
            console,
        )?;
        // They sit on the entries' lines, so `classify` treats them like the config's own.
        versions.head.diagnostics.extend(found);
        crate::diag::sort_and_dedup(&mut versions.head.diagnostics);
    }
    let mappings = changed_mappings(
        &commits,
        &pr,
        versions.merge_sha,
        &head_config,
        settings,
        console,
    )?;

    // Evaluate.
    let verdict = evaluate(&versions, &head_config, &diff, &mappings, settings);

    // Publish.
    quote_findings(&versions.head, &mappings, console);
    let published = publish_check_run(
        &runtime,
        api.as_ref(),
        settings,
        &pr,
        &verdict.findings,
        verdict.blocking,
        console,
    );
    let omitted = if published {
        0
    } else {
        annotate_in_log(&verdict.findings, console)
    };
    say_totals(&verdict, diff.changes.len(), &mappings, path, &pr, console);
    write_summary_and_outputs(environment, &pr, &verdict, omitted)?;
    Ok(if verdict.blocking > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// The config at the base and the head, checked, and the merge commit when the runner has one.
struct Read<'e> {
    head: Checked,
    base: Checked,
    merge_sha: Option<&'e str>,
    /// The config in the merge commit, when it could be read.
    merged: Option<String>,
}

fn read_versions<'e>(
    commits: &Commits<'_>,
    environment: &'e Environment,
    settings: &Settings,
    pr: &PullRequest,
) -> Result<Read<'e>, Failure> {
    let path = settings.config_path.as_str();
    let read = |sha: &str| commits.read(sha, path);
    let head_bytes = read(&pr.head_sha)?.ok_or_else(|| Failure::ConfigAbsent {
        path: path.to_owned(),
        commit: "pull request head",
        sha: pr.head_sha.clone(),
    })?;
    // A config the PR creates has no base version: every entry is new.
    let base_bytes = read(&pr.base_sha)?.unwrap_or_default();
    let merge_sha = merge_commit(environment, pr);
    let merged = merge_sha
        .and_then(|sha| read(sha).ok().flatten())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    // As `validate` reads a file: a config that is not UTF-8, or too large, is a finding on it.
    Ok(Read {
        head: check_bytes(path, &head_bytes, &settings.options),
        base: check_bytes(path, &base_bytes, &settings.options),
        merge_sha,
        merged,
    })
}

/// What the pull request adds or changes. The merge commit is the base plus exactly this pull
/// request: what a branch behind its base still carries from before is not held against it.
fn pull_request_diff<'h>(versions: &Read<'_>, head: &'h Config, path: &str) -> ConfigDiff<'h> {
    let diff = diff::diff(&versions.base.config, head);
    match &versions.merged {
        Some(merged) => {
            let (merged, _) = config::load(&SourceFile::new(path, merged.clone()));
            let ours = diff::diff(&versions.base.config, &merged);
            diff.restricted_to(&ours)
        }
        None => diff,
    }
}

/// The mapping files the pull request touches, checked; none, with a warning, when GitHub
/// cannot list its files.
fn changed_mappings(
    commits: &Commits<'_>,
    pr: &PullRequest,
    merge_sha: Option<&str>,
    head_config: &Config,
    settings: &Settings,
    console: &mut Console<'_>,
) -> Result<Vec<mapping_files::ChangedMapping>, ReadError> {
    let changed =
        match commits.changed_files(&pr.base_sha, merge_sha.unwrap_or(&pr.head_sha), pr.number) {
            Ok(changed) => changed,
            // Without the list, the config is still checked; say plainly what was not.
            Err(error) => {
                let message = format!("mapping files were not checked: {error}");
                console.issue(Command::Say(Level::Warning, &message));
                return Ok(Vec::new());
            }
        };
    mapping_files::check_changed(
        &changed,
        |file, version| {
            let sha = match version {
                Version::Base => &pr.base_sha,
                Version::Head => &pr.head_sha,
                Version::Merge => match merge_sha {
                    Some(sha) => sha,
                    None => return Ok(None),
                },
            };
            // Mapping files are line lists; a stray byte only spoils its own line.
            commits
                .read(sha, file)
                .map(|read| read.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
        },
        &HeadConfig {
            path: &settings.config_path,
            config: head_config,
        },
        &settings.options,
    )
}

/// What the pull request's findings come to.
struct Verdict<'a> {
    findings: Vec<Finding<'a>>,
    tally: Tally,
    /// Findings that fail the step.
    blocking: usize,
    /// The entries a merge would mirror.
    planned: Vec<PlannedMirror>,
}

fn evaluate<'a>(
    versions: &'a Read<'_>,
    head_config: &Config,
    diff: &ConfigDiff<'_>,
    mappings: &'a [mapping_files::ChangedMapping],
    settings: &'a Settings,
) -> Verdict<'a> {
    let path = settings.config_path.as_str();
    let entries = crate::entries::Layout::of(head_config);
    let mut findings = classify(
        path,
        &versions.head.diagnostics,
        &versions.base.diagnostics,
        diff,
        &entries,
        settings.fail_on,
    );
    let mut tally = Tally::of(&versions.head.diagnostics);
    for mapping in mappings {
        findings.extend(mapping.diagnostics.iter().map(|d| {
            finding(
                &mapping.file.path,
                d,
                mapping.added.contains(&d.span.line),
                settings.fail_on,
            )
        }));
        let more = Tally::of(&mapping.diagnostics);
        tally.errors += more.errors;
        tally.warnings += more.warnings;
    }
    sort_findings(&mut findings);
    let blocking = findings.iter().filter(|f| f.blocking).count();
    let planned = planned_mirrors(
        head_config,
        diff,
        &versions.head.diagnostics,
        &entries,
        &settings.options,
    );
    Verdict {
        findings,
        tally,
        blocking,
        planned,
    }
}

/// Every finding in the log, as `validate` prints them (without colour).
fn quote_findings(
    head: &Checked,
    mappings: &[mapping_files::ChangedMapping],
    console: &mut Console<'_>,
) {
    let mut report = human::render(&head.file, &head.diagnostics, human::Style::Plain);
    for mapping in mappings {
        report.push_str(&human::render(
            &mapping.file,
            &mapping.diagnostics,
            human::Style::Plain,
        ));
    }
    console.quote(&report);
}

/// Workflow-command annotations, the channel that works with any token (fork pull requests
/// included); returns how many were left out.
fn annotate_in_log(findings: &[Finding<'_>], console: &mut Console<'_>) -> usize {
    let (annotations, omitted) = select_annotations(findings);
    for annotation in &annotations {
        console.issue(Command::Annotate(annotation));
    }
    if let Some(notice) = omitted_notice(omitted) {
        console.issue(Command::Say(Level::Notice, &notice));
    }
    omitted
}

fn say_totals(
    verdict: &Verdict<'_>,
    changed: usize,
    mappings: &[mapping_files::ChangedMapping],
    path: &str,
    pr: &PullRequest,
    console: &mut Console<'_>,
) {
    let also_mappings = if mappings.is_empty() {
        String::new()
    } else {
        format!(
            " and {} it changes",
            human::count(mappings.len(), "mapping file")
        )
    };
    console.say(&format!(
        "qci-mirror: {} changed, {}, {} ({} blocking) in `{path}`{also_mappings} at {}",
        human::count(changed, "entry"),
        human::count(verdict.tally.errors, "error"),
        human::count(verdict.tally.warnings, "warning"),
        verdict.blocking,
        pr.head_sha
    ));
    let added_lines: usize = mappings.iter().map(|m| m.added.len()).sum();
    if added_lines > 0 {
        console.say(&format!(
            "qci-mirror: {} added to deprecated mapping files; the errors show the `{path}` entries to add instead",
            human::count(added_lines, "line")
        ));
    }
}

fn write_summary_and_outputs(
    environment: &Environment,
    pr: &PullRequest,
    verdict: &Verdict<'_>,
    omitted: usize,
) -> Result<(), OutputError> {
    let blob_url = environment.repository.as_ref().map(|repository| {
        format!(
            "{}/{repository}/blob/{}/",
            environment.server_url, pr.head_sha
        )
    });
    if let Some(summary_path) = &environment.step_summary {
        let run = RunSummary {
            findings: verdict.findings.clone(),
            planned: verdict.planned.clone(),
            annotations_omitted: omitted,
            blob_url,
        };
        append(summary_path, &summary::render_summary(&run)).map_err(|source| {
            OutputError::Summary {
                path: summary_path.clone(),
                source,
            }
        })?;
    }
    if let Some(output_path) = &environment.output {
        let targets: Vec<&str> = verdict.planned.iter().map(|p| p.target.as_str()).collect();
        let targets = serde_json::Value::from(targets).to_string();
        let tally = verdict.tally;
        let (errors, warnings) = (tally.errors.to_string(), tally.warnings.to_string());
        outputs::write_outputs(
            output_path,
            &[
                ("errors", errors.as_str()),
                ("warnings", warnings.as_str()),
                ("changed-targets", targets.as_str()),
            ],
        )
        .map_err(|source| OutputError::Outputs {
            path: output_path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The two versions of the config and how they differ.
struct Versions<'a> {
    head: &'a crate::config::model::Config,
    head_diagnostics: &'a [Diagnostic],
    base: &'a crate::config::model::Config,
    diff: &'a ConfigDiff<'a>,
}

/// Checks the entries the pull request adds or changes against the registries, with the pull
/// credentials the environment gives (none on a fork's pull request: the checks are anonymous).
fn network_checks(
    runtime: &tokio::runtime::Runtime,
    variables: &HashMap<String, String>,
    settings: &Settings,
    config: &Versions<'_>,
    console: &mut Console<'_>,
) -> Result<Vec<Diagnostic>, Failure> {
    let checks = network_check::changed_entries(
        config.head,
        config.head_diagnostics,
        config.base,
        config.diff,
        &settings.options,
    );
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let (connection, credentials) =
        super::registries(&settings.mirror, &settings.options, variables)?;
    // Before anything about registries is printed.
    for secret in crate::settings::secrets_to_mask(&credentials, variables) {
        console.issue(Command::Mask(&secret));
    }
    let registries = network_check::registries(&checks);
    console.say(&format!(
        "qci-mirror: checking {} against {}: {}",
        human::count(checks.len(), "changed entry"),
        human::count(registries.len(), "registry"),
        registries.join(", ")
    ));
    runtime.block_on(async {
        let session = Session::new(&connection, credentials, settings.mirror.host_concurrency)?
            .without_login_renewal();
        Ok(network_check::check(
            Arc::new(session),
            checks,
            settings.mirror.concurrency,
            settings.mirror.network_checks_budget,
        )
        .await)
    })
}

/// The merge commit the runner checked out (`GITHUB_SHA` on `pull_request` events), when it
/// is one: the base plus exactly the pull request's changes.
fn merge_commit<'a>(environment: &'a Environment, pr: &PullRequest) -> Option<&'a str> {
    environment
        .sha
        .as_deref()
        .filter(|sha| *sha != pr.head_sha && *sha != pr.base_sha)
}

/// Blocking findings first, then errors, then by file and place.
fn sort_findings(findings: &mut [Finding<'_>]) {
    findings.sort_by_key(|f| {
        (
            !f.blocking,
            f.diagnostic.severity != Severity::Error,
            f.path,
            f.diagnostic.span,
        )
    });
}

/// The mirrors the PR asks for: every added or edited `supplementalCIImages` entry that
/// validates (no error on its lines: a Docker Hub source or a bad key is never mirrored), as
/// `source → target`.
fn planned_mirrors(
    head: &crate::config::model::Config,
    diff: &ConfigDiff<'_>,
    diagnostics: &[Diagnostic],
    entries: &crate::entries::Layout,
    options: &Options,
) -> Vec<PlannedMirror> {
    let changed: HashSet<&str> = diff.changed_supplemental_keys().collect();
    let errors = entries.first_errors(diagnostics);
    let valid = |key_line: u32| {
        errors
            .of(crate::entries::Section::Supplemental, key_line)
            .is_none()
    };
    head.supplemental_entries()
        .filter(|e| changed.contains(e.key.value.as_str()) && parse_target(&e.key.value).is_ok())
        .filter(|e| valid(e.key.span.line))
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

/// At most this many annotations go to a check run: 20 requests of 50, a small part of the
/// 1,000 requests per hour a `GITHUB_TOKEN` may make in a repository.
const MAX_CHECK_RUN_ANNOTATIONS: usize = 1_000;

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
    console: &mut Console<'_>,
) -> bool {
    let Some(api) = api else {
        return false;
    };
    if pr.from_fork || settings.github_token.0.is_empty() {
        return false;
    }
    // Most important first, and no more than a token's hourly API budget can afford.
    let annotations: Vec<Annotation> = findings
        .iter()
        .take(MAX_CHECK_RUN_ANNOTATIONS)
        .map(Annotation::from_finding)
        .collect();
    let title = if blocking == 0 {
        "No blocking problems".to_owned()
    } else {
        human::count(blocking, "blocking problem")
    };
    let mut summary = format!(
        "{} in `{}`; the job summary lists every finding and the entries that will be mirrored.",
        human::count(findings.len(), "finding"),
        settings.config_path
    );
    if findings.len() > annotations.len() {
        summary.push_str(&format!(
            " The first {} are annotated here; {} more are in the job summary only.",
            annotations.len(),
            findings.len() - annotations.len()
        ));
    }
    let run = CheckRun {
        name: &settings.check_name,
        head_sha: &pr.head_sha,
        title: &title,
        summary: &summary,
        success: blocking == 0,
    };
    match runtime.block_on(api.publish_check_run(&run, &annotations)) {
        Ok(_) => {
            console.say(&format!(
                "qci-mirror: published check run `{}` with {}.",
                settings.check_name,
                human::count(annotations.len(), "annotation")
            ));
            true
        }
        // The documented case of a read-only token: quietly use workflow commands.
        Err(PublishError::NotAllowed) => false,
        Err(error) => {
            let message = format!("{error}; annotating the log instead");
            console.issue(Command::Say(Level::Warning, &message));
            false
        }
    }
}
