//! The events that mirror: `push` to the default branch copies right away the entries the push
//! adds or changes (`before`..`after`); `schedule` and `workflow_dispatch` sync everything not
//! up to date, two HEAD requests per entry that is (a dispatch may name targets). A `shard`
//! input splits the work across a matrix. Pull-request events never reach this module.

use super::checkout::{Commits, read_in_workspace};
use super::environment::payload_text;
use super::error::{EventError, Failure, OutputError};
use super::{Environment, Settings, append, github_client, registries};
use crate::commands::{EXIT_FINDINGS, EXIT_OK};
use crate::config::{self, model::Config};
use crate::diag::Diagnostic;
use crate::entries::{PlannedEntry, Section};
use crate::github::commands::{Annotation, Level};
use crate::github::console::{Command, Console};
use crate::github::outputs;
use crate::mirror::Outcome;
use crate::mirror::run::{self, MirrorResult, Report, RunSettings, Skip};
use crate::registry::Session;
use crate::report::human;
use crate::report::progress;
use crate::selection::Selection;
use crate::source::SourceFile;
use crate::validate::check_bytes;
use std::collections::HashSet;

/// What a run mirrors.
enum Scope {
    /// The entries a push added or changed, by section and key.
    Changed(HashSet<(Section, String)>),
    /// Every entry (a schedule), or the named ones (a dispatch).
    All {
        /// Keys, QCI tags or target references; empty means everything.
        named: Vec<String>,
    },
}

/// Runs a `push`, `schedule` or `workflow_dispatch` event.
pub(super) fn run(
    event: &str,
    environment: &Environment,
    settings: &Settings,
    console: &mut Console<'_>,
) -> Result<u8, Failure> {
    // The dispatcher never sends them here; this guard keeps it so if that ever changes.
    if event.starts_with("pull_request") || event == "merge_group" {
        return Err(Failure::MirrorOnPullRequest);
    }
    let path = settings.config_path.as_str();

    let Some(ToMirror {
        config: config_bytes,
        mut scope,
        pushed,
    }) = what_to_mirror(event, environment, settings, console)?
    else {
        return Ok(EXIT_OK);
    };

    let checked = check_bytes(path, &config_bytes, &settings.options);
    let config = &checked.config;
    if let Some((before, range)) = pushed {
        let changed = changed_keys(path, &before, config);
        console.say(&format!(
            "qci-mirror: the push {range} changes {} in `{path}`",
            human::count(changed.len(), "entry"),
        ));
        scope = Scope::Changed(changed);
    }
    if let Scope::All { named } = &scope {
        check_named(config, &checked.diagnostics, settings, named)?;
    }
    let shard = settings.mirror.shard;
    let selection = Selection::new(
        match &scope {
            Scope::All { named } => named.clone(),
            Scope::Changed(_) => Vec::new(),
        },
        shard,
    );
    let select = |entry: &PlannedEntry| {
        selection.contains(entry)
            && match &scope {
                Scope::Changed(keys) => keys.contains(&(entry.section, entry.key.clone())),
                Scope::All { .. } => true,
            }
    };
    if let Scope::Changed(keys) = &scope
        && keys.is_empty()
    {
        console.say("qci-mirror: nothing to mirror.");
        return Ok(EXIT_OK);
    }

    let session = registry_session(environment, settings, console)?;
    let report = mirror_selected(
        config,
        &checked.diagnostics,
        settings,
        session,
        &select,
        console,
    )?;
    publish(
        environment,
        path,
        &report,
        shard.map(|s| s.to_string()),
        console,
    )?;
    Ok(if report.failed() > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// The registries' session, with every credential masked before anything else is printed.
fn registry_session(
    environment: &Environment,
    settings: &Settings,
    console: &mut Console<'_>,
) -> Result<Session, Failure> {
    let variables = &environment.variables;
    let (connection, credentials) = registries(&settings.mirror, &settings.options, variables)?;
    for secret in crate::settings::secrets_to_mask(&credentials, variables) {
        console.issue(Command::Mask(&secret));
    }
    Ok(Session::new(
        &connection,
        credentials,
        settings.mirror.host_concurrency,
    )?)
}

/// What an event mirrors: the config's bytes, the scope, and for a push the config before it
/// with the commit range; `None` when the event mirrors nothing (a notice said why).
struct ToMirror {
    config: Vec<u8>,
    scope: Scope,
    pushed: Option<(String, String)>,
}

fn what_to_mirror(
    event: &str,
    environment: &Environment,
    settings: &Settings,
    console: &mut Console<'_>,
) -> Result<Option<ToMirror>, Failure> {
    let path = settings.config_path.as_str();
    match event {
        "push" => {
            let payload = environment.event_payload()?;
            let Some(push) = pushed_default_branch(&payload, console)? else {
                return Ok(None);
            };
            let (runtime, api) = github_client(environment, settings)?;
            let commits = Commits::new(&runtime, api.as_ref(), environment);
            let read = |sha: &str| commits.read(sha, path);
            let after = read(&push.after)?.ok_or_else(|| Failure::ConfigAbsent {
                path: path.to_owned(),
                commit: "pushed commit",
                sha: push.after.clone(),
            })?;
            // A branch created by the push has no `before`: everything in it is new. A stray
            // byte there can only make more keys look changed, never fewer.
            let before = match &push.before {
                Some(sha) => String::from_utf8_lossy(&read(sha)?.unwrap_or_default()).into_owned(),
                None => String::new(),
            };
            let range = format!(
                "{}..{}",
                push.before.as_deref().map_or("(new branch)", short),
                short(&push.after)
            );
            // The keys are found once the pushed config is loaded.
            Ok(Some(ToMirror {
                config: after,
                scope: Scope::Changed(HashSet::new()),
                pushed: Some((before, range)),
            }))
        }
        _ => {
            if event == "workflow_dispatch"
                && !dispatched_from_default_branch(environment, settings, console)?
            {
                return Ok(None);
            }
            let bytes = read_in_workspace(&environment.workspace, path)?;
            Ok(Some(ToMirror {
                config: bytes,
                scope: Scope::All {
                    named: if event == "workflow_dispatch" {
                        settings.mirror.targets.clone()
                    } else {
                        Vec::new()
                    },
                },
                pushed: None,
            }))
        }
    }
}

/// The copy itself, its progress folded in a group, all of it where config text cannot issue
/// workflow commands.
fn mirror_selected(
    config: &Config,
    diagnostics: &[Diagnostic],
    settings: &Settings,
    session: Session,
    select: &dyn Fn(&PlannedEntry) -> bool,
    console: &mut Console<'_>,
) -> Result<Report, crate::RuntimeError> {
    let title = format!("Mirroring into {}", settings.options.target_repository);
    console.issue(Command::Group(&title));
    let mut lines = console.lines();
    let mut watcher = progress::Watcher::new(progress::Style::Lines, &mut lines);
    let report = run::run(
        config,
        diagnostics,
        &settings.options,
        session,
        select,
        RunSettings {
            concurrency: settings.mirror.concurrency,
            backups: settings.mirror.backup,
            tick: progress::Style::Lines.tick(),
            deadline: settings.mirror.run_timeout,
        },
        &mut |event| watcher.show(event),
    );
    drop(lines);
    console.issue(Command::EndGroup);
    let report = report?;
    console.quote(&crate::report::mirror::render_human(&report));
    Ok(report)
}

/// The job summary, the outputs, an error annotation per failed entry and a notice per copy
/// back to app.ci that found nothing in QCI.
fn publish(
    environment: &Environment,
    config_path: &str,
    report: &Report,
    shard: Option<String>,
    console: &mut Console<'_>,
) -> Result<(), OutputError> {
    for entry in &report.entries {
        let (level, reason) = match &entry.result {
            MirrorResult::Failed { error, .. } => (Level::Error, error.to_string()),
            MirrorResult::Skipped {
                result: Skip::Invalid,
                reason,
            } => (Level::Error, format!("invalid entry: {reason}")),
            MirrorResult::Skipped {
                result: Skip::Absent,
                reason,
            } => (Level::Notice, reason.clone()),
            _ => continue,
        };
        console.issue(Command::Annotate(&Annotation::on_line(
            level,
            config_path,
            entry.line,
            format!("qci-mirror: {} not mirrored", entry.key),
            format!("{} ← {}: {reason}", entry.target, entry.source),
        )));
    }
    if let Some(summary_path) = &environment.step_summary {
        let title = match &shard {
            Some(shard) => format!("qci-mirror: mirrored (shard {shard})"),
            None => "qci-mirror: mirrored".to_owned(),
        };
        let text = crate::report::mirror::render_summary(report, &title);
        append(summary_path, &text).map_err(|source| OutputError::Summary {
            path: summary_path.clone(),
            source,
        })?;
    }
    if let Some(output_path) = &environment.output {
        let copied: Vec<&str> = report
            .entries
            .iter()
            .filter(|e| matches!(e.result, MirrorResult::Done(Outcome::Copied { .. })))
            .map(|e| e.target.as_str())
            .collect();
        let copied = serde_json::Value::from(copied).to_string();
        let failed = report.failed().to_string();
        outputs::write_outputs(
            output_path,
            &[("mirrored", copied.as_str()), ("failed", failed.as_str())],
        )
        .map_err(|source| OutputError::Outputs {
            path: output_path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// A push to the default branch.
struct Push {
    /// The commit before the push; `None` when the push created the branch.
    before: Option<String>,
    /// The pushed commit.
    after: String,
}

/// The push, when it is to the repository's default branch; otherwise says why nothing is
/// mirrored and gives `None`.
fn pushed_default_branch(
    payload: &serde_json::Value,
    console: &mut Console<'_>,
) -> Result<Option<Push>, EventError> {
    let text = |pointer: &str| payload.pointer(pointer).and_then(serde_json::Value::as_str);
    let field = |pointer: &str| payload_text(payload, pointer, "push event payload");
    let pushed_ref = field("/ref")?;
    let default_branch = field("/repository/default_branch")?;
    if pushed_ref != format!("refs/heads/{default_branch}") {
        console.issue(Command::Say(
            Level::Notice,
            &format!(
                "nothing mirrored: only pushes to the default branch `{default_branch}` mirror, and this push is to `{pushed_ref}`"
            ),
        ));
        return Ok(None);
    }
    if payload["deleted"].as_bool() == Some(true) {
        console.issue(Command::Say(
            Level::Notice,
            "nothing mirrored: the push deletes the branch",
        ));
        return Ok(None);
    }
    let after = field("/after")?;
    let before = text("/before").filter(|sha| !sha.bytes().all(|b| b == b'0'));
    Ok(Some(Push {
        before: before.map(str::to_owned),
        after: after.to_owned(),
    }))
}

/// Whether a `workflow_dispatch` may mirror: only from the default branch, whose config was
/// reviewed, unless `mirror_any_branch` allows another; either way a notice says what happens.
fn dispatched_from_default_branch(
    environment: &Environment,
    settings: &Settings,
    console: &mut Console<'_>,
) -> Result<bool, EventError> {
    let payload = environment.event_payload()?;
    let field = |pointer: &str| payload_text(&payload, pointer, "workflow_dispatch event payload");
    let dispatched = field("/ref")?;
    let default_branch = field("/repository/default_branch")?;
    if dispatched == format!("refs/heads/{default_branch}") {
        return Ok(true);
    }
    let message = if settings.mirror.any_branch {
        format!(
            "mirroring the config of `{dispatched}`, not of the default branch `{default_branch}`, because mirror_any_branch is true"
        )
    } else {
        format!(
            "nothing mirrored: a dispatch mirrors only from the default branch `{default_branch}`, and this run is on `{dispatched}` (set mirror_any_branch: true to allow it)"
        )
    };
    console.issue(Command::Say(Level::Notice, &message));
    Ok(settings.mirror.any_branch)
}

/// The keys of `supplementalCIImages` and `qciToAppCIImages` entries that `after` adds or
/// changes against the text `before`.
fn changed_keys(path: &str, before: &str, after: &Config) -> HashSet<(Section, String)> {
    let (before, _) = config::load(&SourceFile::new(path, before.to_owned()));
    let diff = crate::entries::diff::diff(&before, after);
    let supplemental = diff
        .changed_supplemental_keys()
        .map(|key| (Section::Supplemental, key.to_owned()));
    let back_to_app_ci = diff
        .changed_qci_to_app_ci_keys()
        .map(|key| (Section::QciToAppCi, key.to_owned()));
    supplemental.chain(back_to_app_ci).collect()
}

/// Every name a dispatch gives must name an entry: a typo mirrors nothing, silently otherwise.
fn check_named(
    config: &Config,
    diagnostics: &[Diagnostic],
    settings: &Settings,
    named: &[String],
) -> Result<(), Failure> {
    if named.is_empty() {
        return Ok(());
    }
    let (planned, _) = crate::entries::resolve(config, diagnostics, &settings.options);
    Selection::new(named.to_vec(), None).check_names(
        &planned,
        std::path::Path::new(&settings.config_path),
        "`targets`",
    )?;
    Ok(())
}

/// The first 12 characters of a commit id, as logs show them.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
