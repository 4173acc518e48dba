//! Command-line entry point. The only module that decides exit codes; it writes to the writers
//! it is given, so tests run the whole CLI in memory.

use crate::diag::Tally;
use crate::report::{human, json};
use crate::rules::{DEFAULT_ISTAG_REGISTRY, DEFAULT_TARGET_REPOSITORY, Options};
use crate::validate::{Checked, check_path};
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

/// No errors (warnings allowed).
pub const EXIT_OK: u8 = 0;
/// Findings: at least one error, including content that is not a parseable config.
pub const EXIT_FINDINGS: u8 = 1;
/// Could not run: bad usage, or a file that could not be read. Distinct from findings so that a
/// broken pipeline never looks like a config problem, nor the other way round.
pub const EXIT_USAGE: u8 = 2;

/// Where openshift/release keeps the config.
pub const DEFAULT_CONFIG_PATH: &str = "core-services/image-mirroring/_config.yaml";

#[derive(Debug, Parser)]
#[command(
    name = "qci-mirror",
    version,
    about = "Validate and mirror OpenShift CI's QCI image-mirroring config"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check mirroring configs and report every problem with its line.
    Validate(ValidateArgs),
    /// Run as the GitHub container action: settings come from `QCI_*` and `GITHUB_*` variables.
    Action,
    /// Show what a mirror run would do (read-only: HEAD requests only).
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The config to plan for.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    format: PlanFormat,
    /// The repository images are mirrored into.
    #[arg(long, value_name = "REPO", default_value = DEFAULT_TARGET_REPOSITORY)]
    target_repository: String,
    /// The registry that imagestreamtag sources are on.
    #[arg(long, value_name = "HOST", default_value = DEFAULT_ISTAG_REGISTRY)]
    istag_registry: String,
    /// Speak plain HTTP to this `host:port` (for local test registries). Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    plain_http: Vec<String>,
    /// Extra CA certificates (PEM) to trust; `SSL_CERT_FILE` works too.
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// A docker/podman auth file (else `QCI_REGISTRY_AUTH`, `REGISTRY_AUTH_FILE`,
    /// `$DOCKER_CONFIG/config.json`).
    #[arg(long, value_name = "PATH")]
    auth_file: Option<PathBuf>,
    /// How many entries to look up at once.
    #[arg(long, value_name = "N", default_value_t = crate::plan::DEFAULT_CONCURRENCY)]
    concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    /// A table.
    Human,
    /// Stable JSON.
    Json,
    /// A Markdown table for a job summary.
    Markdown,
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// Config files to check.
    #[arg(default_value = DEFAULT_CONFIG_PATH)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The repository images are mirrored into (for forks).
    #[arg(long, value_name = "REPO", default_value = DEFAULT_TARGET_REPOSITORY)]
    target_repository: String,
    /// The registry that imagestreamtag sources are on (for forks).
    #[arg(long, value_name = "HOST", default_value = DEFAULT_ISTAG_REGISTRY)]
    istag_registry: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `path:line:col: severity[code]: message` with the source line, like rustc.
    Human,
    /// A stable JSON document (see docs/json-output.md).
    Json,
}

/// Runs the CLI with `args` (program name first) and returns the exit code.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let text = error.render().to_string();
            return if error.use_stderr() {
                let _ = stderr.write_all(text.as_bytes());
                EXIT_USAGE
            } else {
                let _ = stdout.write_all(text.as_bytes());
                EXIT_OK
            };
        }
    };
    match cli.command {
        Command::Validate(args) => validate(&args, stdout, stderr),
        // The environment is read here, at the edge, so `action::run` stays testable.
        Command::Action => {
            // `vars()` would panic on a variable that is not UTF-8; such a variable is not ours.
            let env = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect();
            crate::action::run(&env, stdout, stderr)
        }
        Command::Plan(args) => {
            let env = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect();
            match plan(&args, &env, stdout) {
                Ok(code) => code,
                Err(message) => {
                    let _ = writeln!(stderr, "error: {message}");
                    EXIT_USAGE
                }
            }
        }
    }
}

fn validate(args: &ValidateArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    let options = Options {
        target_repository: args.target_repository.clone(),
        istag_registry: args.istag_registry.clone(),
    };
    let results: Vec<(String, Result<Checked, String>)> = args
        .paths
        .iter()
        .map(|path| {
            let result = check_path(path, &options).map_err(|e| e.to_string());
            (path.display().to_string(), result)
        })
        .collect();

    let mut tally = Tally::default();
    let mut unreadable = false;
    for (_, result) in &results {
        match result {
            Ok(checked) => tally.add(Tally::of(&checked.diagnostics)),
            Err(_) => unreadable = true,
        }
    }

    let written = match args.format {
        Format::Human => write_human(&results, tally, stdout, stderr),
        Format::Json => write_json(&results, stdout, stderr),
    };
    if written.is_err() || unreadable {
        EXIT_USAGE
    } else if tally.errors > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn write_human(
    results: &[(String, Result<Checked, String>)],
    tally: Tally,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    let mut checked_files = 0;
    for (_, result) in results {
        match result {
            Ok(checked) => {
                checked_files += 1;
                stdout.write_all(human::render(&checked.file, &checked.diagnostics).as_bytes())?;
            }
            Err(message) => writeln!(stderr, "error: {message}")?,
        }
    }
    writeln!(
        stdout,
        "{} checked: {}, {}",
        human::count(checked_files, "file"),
        human::count(tally.errors, "error"),
        human::count(tally.warnings, "warning")
    )
}

fn write_json(
    results: &[(String, Result<Checked, String>)],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    let files = results
        .iter()
        .map(|(path, result)| match result {
            Ok(checked) => json::FileReport::checked(path, &checked.diagnostics),
            Err(message) => json::FileReport::unreadable(path, message.clone()),
        })
        .collect();
    for (_, result) in results {
        if let Err(message) = result {
            writeln!(stderr, "error: {message}")?;
        }
    }
    stdout.write_all(json::render(files).as_bytes())
}

fn plan(
    args: &PlanArgs,
    env: &std::collections::HashMap<String, String>,
    stdout: &mut dyn Write,
) -> Result<u8, String> {
    use crate::registry::{self, Connection, Credentials, auth::AuthFile};
    let options = Options {
        target_repository: args.target_repository.clone(),
        istag_registry: args.istag_registry.clone(),
    };
    let checked = check_path(&args.config, &options).map_err(|e| e.to_string())?;
    let (config, _) = crate::config::load(&checked.file);

    let given = |name: &str| env.get(name).filter(|v| !v.is_empty());
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the auth file `{}`: {e}", path.display()))
    };
    let auth_file = if let Some(path) = &args.auth_file {
        AuthFile::parse(&read(path)?, &format!("`{}`", path.display()))?
    } else if let Some(json) = given("QCI_REGISTRY_AUTH") {
        AuthFile::parse(json, "QCI_REGISTRY_AUTH")?
    } else if let Some(path) = given("REGISTRY_AUTH_FILE") {
        AuthFile::parse(&read(std::path::Path::new(path))?, &format!("`{path}`"))?
    } else {
        let docker = given("DOCKER_CONFIG").map(|d| std::path::Path::new(d).join("config.json"));
        match docker.filter(|p| p.exists()) {
            Some(path) => AuthFile::parse(&read(&path)?, &format!("`{}`", path.display()))?,
            None => AuthFile::default(),
        }
    };
    use oci_client::secrets::RegistryAuth;
    let target = match (
        given("QCI_TARGET_TOKEN"),
        given("QCI_TARGET_USERNAME"),
        given("QCI_TARGET_PASSWORD"),
    ) {
        (Some(token), _, _) => Some(RegistryAuth::Bearer(token.clone())),
        (None, Some(user), Some(password)) => {
            Some(RegistryAuth::Basic(user.clone(), password.clone()))
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(
                "set both QCI_TARGET_USERNAME and QCI_TARGET_PASSWORD, or QCI_TARGET_TOKEN".into(),
            );
        }
        (None, None, None) => None,
    };
    let connection = Connection {
        plain_http: args.plain_http.clone(),
        ca_file: args.ca_file.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let entries = runtime.block_on(async {
        let registries = std::sync::Arc::new(crate::plan::Registries {
            source_client: registry::client(&connection)?,
            target_client: registry::client(&connection)?,
            credentials: Credentials { auth_file, target },
        });
        Ok::<_, String>(
            crate::plan::plan(
                &config,
                &checked.diagnostics,
                &options,
                registries,
                args.concurrency,
            )
            .await,
        )
    })?;
    let text = match args.format {
        PlanFormat::Human => crate::plan::render_human(&entries),
        PlanFormat::Json => crate::plan::render_json(&entries),
        PlanFormat::Markdown => crate::plan::render_markdown(&entries),
    };
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let counts = crate::plan::Counts::of(&entries);
    Ok(if counts.unreachable + counts.invalid > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
