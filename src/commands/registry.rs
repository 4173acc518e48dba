//! The commands that talk to registries, `plan` and `mirror`: their shared options, and
//! connections from flags.

use super::{EXIT_FINDINGS, EXIT_OK, Failure};
use crate::entries::PlannedEntry;
use crate::github::console::Command;
use crate::mirror::run::{self, RunSettings};
use crate::plan;
use crate::registry::{Connection, Credentials, DEFAULT_IDLE_TIMEOUT, Session, hosts};
use crate::report::progress;
use crate::rules::Options;
use crate::selection::Selection;
use crate::settings::{DEFAULT_CONFIG_PATH, credentials, secrets_to_mask};
use crate::validate::check_path;
use clap::ValueEnum;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Options every registry command takes.
#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    /// The config to read.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    format: OutputFormat,
    #[command(flatten)]
    places: super::Places,
    /// Speak plain HTTP to this `host:port` (for local test registries). Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    plain_http: Vec<String>,
    /// Extra CA certificates (PEM) to trust; `SSL_CERT_FILE` works too.
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// A docker/podman auth file (else `QCI_REGISTRY_AUTH` with its JSON, `REGISTRY_AUTH_FILE`,
    /// `$DOCKER_CONFIG/config.json`). Target credentials: `QCI_TARGET_USERNAME` and
    /// `QCI_TARGET_PASSWORD`, or `QCI_TARGET_TOKEN`; app.ci's (`qciToAppCIImages`):
    /// `QCI_APP_CI_USERNAME` and `QCI_APP_CI_PASSWORD`, or `QCI_APP_CI_TOKEN`.
    #[arg(long, value_name = "PATH")]
    auth_file: Option<PathBuf>,
    /// How many entries to work on at once.
    #[arg(long, value_name = "N", default_value_t = plan::DEFAULT_CONCURRENCY, value_parser = at_least_one)]
    concurrency: usize,
    /// At most this many requests in flight to any one registry host.
    #[arg(long, value_name = "N", default_value_t = hosts::DEFAULT_LIMIT, value_parser = at_least_one)]
    host_concurrency: usize,
    /// The longest any request waits for a connection or for its next bytes; small requests
    /// (logins, manifests) end within twice this in all.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

/// A count of things done at once: zero would do nothing, forever.
fn at_least_one(text: &str) -> Result<usize, NotAtLeastOne> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(NotAtLeastOne(text.to_owned())),
    }
}

/// A count flag given zero or something not a number; clap prints it as the reason.
#[derive(Debug, thiserror::Error)]
#[error("expected a whole number of at least 1, not `{0}`")]
struct NotAtLeastOne(String);

/// `qci-mirror plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    selection: Selection,
    /// How to show progress on stderr: a live count, a line every 10 s for a log, or the
    /// first when stderr is a terminal.
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
}

/// `qci-mirror mirror`.
#[derive(Debug, clap::Args)]
pub struct MirrorArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    selection: Selection,
    /// Move tags without first keeping the image they held under a backup tag
    /// (`<YYYYMMDDHHMMSS>_prune___ci_images_mirror__<tag>`).
    #[arg(long)]
    no_backup: bool,
    /// How to show progress on stderr: a live status line, plain lines for a log, or the
    /// first when stderr is a terminal.
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
    /// The whole run's time, in minutes: entries not finished by then fail, and the report is
    /// still printed (the default fits inside a GitHub Actions job's 360 minutes).
    #[arg(long, value_name = "MINUTES", default_value_t = run::DEFAULT_DEADLINE.as_secs() / 60, value_parser = clap::value_parser!(u64).range(1..))]
    run_timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Progress {
    /// Live on a terminal, lines otherwise.
    Auto,
    /// Entry lines scrolling above a status line redrawn in place.
    Live,
    /// A line per finished entry and a throughput line every 10 s.
    Lines,
}

impl Progress {
    fn style(self, terminal: bool) -> progress::Style {
        match (self, terminal) {
            (Progress::Live, _) | (Progress::Auto, true) => progress::Style::Terminal,
            (Progress::Lines, _) | (Progress::Auto, false) => progress::Style::Lines,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// A table.
    Human,
    /// Stable JSON.
    Json,
    /// A Markdown table for a job summary.
    Markdown,
}

/// Everything a registry command needs, read once.
struct Setup {
    options: Options,
    config: crate::config::model::Config,
    diagnostics: Vec<crate::diag::Diagnostic>,
    connection: Connection,
    credentials: Credentials,
}

/// [`secrets_to_mask`], printed as `::add-mask::` commands.
fn mask_secrets(
    credentials: &Credentials,
    env: &HashMap<String, String>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    for secret in secrets_to_mask(credentials, env) {
        if !secret.is_empty() {
            writeln!(out, "{}", Command::Mask(&secret))?;
        }
    }
    Ok(())
}

fn setup(
    args: &RegistryArgs,
    selection: &Selection,
    env: &HashMap<String, String>,
) -> Result<Setup, Failure> {
    // Mirroring is not the place to judge keys against promotions: `validate` and the pull
    // request check do.
    let options = args.places.options();
    let checked = check_path(&args.config, &options)?;
    let (entries, _) = crate::entries::resolve(&checked.config, &checked.diagnostics, &options);
    selection.check_names(&entries, &args.config, "--only")?;
    Ok(Setup {
        options,
        config: checked.config,
        diagnostics: checked.diagnostics,
        connection: Connection {
            plain_http: args.plain_http.clone(),
            ca_file: args.ca_file.clone(),
            idle_timeout: std::time::Duration::from_secs(args.timeout),
        },
        credentials: credentials(args.auth_file.as_deref(), env, &args.places.istag_registry)?,
    })
}

/// `qci-mirror plan`: prints the plan; exit 1 when an entry is unreachable or invalid.
pub fn plan(
    args: &PlanArgs,
    env: &HashMap<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    terminal: bool,
) -> Result<u8, Failure> {
    let selection = &args.selection;
    let style = args.progress.style(terminal);
    let args = &args.registry;
    let setup = setup(args, selection, env)?;
    mask_secrets(&setup.credentials, env, out)?;
    let started = std::time::Instant::now();
    let mut last_line = started;
    // Progress is for people watching; a failed write never stops the plan.
    let mut looked_up = |done: usize, total: usize| {
        let line = format!("looked up {done}/{total} entries");
        let _ = match style {
            progress::Style::Terminal if done < total => {
                write!(err, "{}{line}", progress::CLEAR_LINE)
            }
            progress::Style::Terminal => write!(err, "{}", progress::CLEAR_LINE),
            progress::Style::Lines if last_line.elapsed() >= progress::THROUGHPUT_EVERY => {
                last_line = std::time::Instant::now();
                writeln!(err, "… {line} in {:.0} s", started.elapsed().as_secs_f64())
            }
            progress::Style::Lines => Ok(()),
        };
    };
    let entries = crate::current_thread_runtime()?.block_on(async {
        let session = Arc::new(Session::new(
            &setup.connection,
            setup.credentials.clone(),
            args.host_concurrency,
        )?);
        Ok::<_, Failure>(
            plan::plan(
                &setup.config,
                &setup.diagnostics,
                &setup.options,
                session,
                &|entry: &PlannedEntry| selection.contains(entry),
                args.concurrency,
                &mut looked_up,
            )
            .await,
        )
    })?;
    let text = match args.format {
        OutputFormat::Human => crate::report::plan::render_human(&entries),
        OutputFormat::Json => crate::report::plan::render_json(&entries),
        OutputFormat::Markdown => crate::report::plan::render_markdown(&entries),
    };
    out.write_all(text.as_bytes())?;
    let counts = plan::Counts::of(&entries);
    Ok(if counts.unreachable + counts.invalid > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// `qci-mirror mirror`: copies what is not up to date. Exit 1 when any entry failed.
pub fn mirror(
    args: &MirrorArgs,
    env: &HashMap<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    terminal: bool,
) -> Result<u8, Failure> {
    if env
        .get("GITHUB_EVENT_NAME")
        .is_some_and(|event| event.starts_with("pull_request") || event == "merge_group")
    {
        return Err(Failure::UnmergedEvent);
    }
    let setup = setup(&args.registry, &args.selection, env)?;
    mask_secrets(&setup.credentials, env, out)?;
    let select = |entry: &PlannedEntry| args.selection.contains(entry);
    let style = args.progress.style(terminal);
    // In a GitHub log the entry lines fold under one heading.
    let github = env.get("GITHUB_ACTIONS").map(String::as_str) == Some("true")
        && style == progress::Style::Lines;
    let session = Session::new(
        &setup.connection,
        setup.credentials.clone(),
        args.registry.host_concurrency,
    )?;
    let mut watcher = progress::Watcher::new(style, err);
    let report = run::run(
        &setup.config,
        &setup.diagnostics,
        &setup.options,
        session,
        &select,
        RunSettings {
            concurrency: args.registry.concurrency,
            backups: !args.no_backup,
            tick: style.tick(),
            deadline: std::time::Duration::from_secs(args.run_timeout * 60),
        },
        &mut |event| {
            match (&event, github) {
                (run::Event::Started { total }, true) => watcher.line(&Command::Group(&format!(
                    "Mirroring {}",
                    crate::report::human::count(*total, "entry")
                ))),
                (run::Event::Ended, true) => watcher.line(&Command::EndGroup),
                _ => {}
            }
            watcher.show(event);
        },
    )?;
    let text = match args.registry.format {
        OutputFormat::Human => crate::report::mirror::render_human(&report),
        OutputFormat::Json => crate::report::mirror::render_json(&report),
        OutputFormat::Markdown => crate::report::mirror::render_markdown(&report),
    };
    out.write_all(text.as_bytes())?;
    Ok(if report.failed() > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
