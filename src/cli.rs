//! Command-line entry point. The only module that decides exit codes; it writes to the writers
//! it is given, so tests run the whole CLI in memory.

use crate::commands::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use crate::diag::Tally;
use crate::github::console::inert_line;
use crate::promoted::{self, PromotedTags};
use crate::report::{human, json};
use crate::rules::{DEFAULT_ISTAG_REGISTRY, DEFAULT_TARGET_REPOSITORY, Options};
use crate::settings::DEFAULT_CONFIG_PATH;
use crate::validate::{Checked, check_path, cross_check_mappings};
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    Plan(crate::commands::registry::PlanArgs),
    /// Copy every entry that is not up to date into the target repository, digest-exact.
    Mirror(crate::commands::registry::MirrorArgs),
    /// Turn deprecated mapping-file lines into `supplementalCIImages` entries.
    Migrate(MigrateArgs),
}

/// `qci-mirror generate`, parsed apart from [`Cli`]: a release runs it to make the files users
/// get, and being outside `Cli` keeps it out of `--help`, the completions and the man page
/// (clap's completion generators offer hidden subcommands too).
#[derive(Debug, Parser)]
#[command(
    name = "qci-mirror generate",
    bin_name = "qci-mirror generate",
    about = "Print shell completions or the man page (release artifacts)"
)]
struct GenerateCli {
    #[command(subcommand)]
    what: Generate,
}

#[derive(Debug, Subcommand)]
enum Generate {
    /// The completion script for SHELL.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The man page, `qci-mirror.1` (roff).
    Man,
}

#[derive(Debug, clap::Args)]
struct MigrateArgs {
    /// Mapping files to migrate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The config the entries go into (default: the `_config.yaml` beside the first mapping
    /// file or in the folder above it, else core-services/image-mirroring/_config.yaml).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Append the entries to the config in place (comments and order kept) instead of
    /// printing them.
    #[arg(long)]
    write: bool,
    /// The registry that imagestreamtag sources are on (for forks).
    #[arg(long, value_name = "HOST", default_value = DEFAULT_ISTAG_REGISTRY)]
    istag_registry: String,
    /// Colour the findings printed when `--write` is refused (see `validate --color`).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// Config files to check (default: core-services/image-mirroring/_config.yaml in this
    /// folder or the nearest one above it, as in an openshift/release checkout).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The repository images are mirrored into (for forks).
    #[arg(long, value_name = "REPO", default_value = DEFAULT_TARGET_REPOSITORY, value_parser = crate::qci::parse_repository)]
    target_repository: String,
    /// The registry that imagestreamtag sources are on (for forks).
    #[arg(long, value_name = "HOST", default_value = DEFAULT_ISTAG_REGISTRY)]
    istag_registry: String,
    /// The host `qciToAppCIImages` pulls QCI through (default: quay-proxy.ci.openshift.org
    /// for the upstream QCI, else the target repository's own host).
    #[arg(long, value_name = "HOST")]
    qci_pull_registry: Option<String>,
    /// The ci-operator config folder whose promoted tags no key may overwrite (default:
    /// `ci-operator/config` at the root of the repository holding the first config, when it
    /// exists).
    #[arg(long, value_name = "DIR")]
    ci_operator_config: Option<PathBuf>,
    /// Colour the human format: `auto` when stdout is a terminal and `NO_COLOR` is unset or
    /// empty, `always` even when it is set, `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// `--color`: whether findings are drawn with ANSI colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    Auto,
    /// Colour even in a pipe or a file, and even when `NO_COLOR` is set.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// The style for `--color self`, given `NO_COLOR` and whether stdout is a terminal (both
    /// read at the edge, by [`human_style`]). <https://no-color.org>: a `NO_COLOR` that is set
    /// and not empty turns off colour by default; an explicit `--color always` still wins.
    fn style(self, no_color: Option<&std::ffi::OsStr>, stdout_is_terminal: bool) -> human::Style {
        let colored = match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && no_color.is_none_or(|v| v.is_empty()),
        };
        if colored {
            human::Style::Colored
        } else {
            human::Style::Plain
        }
    }
}

/// The style for `choice` in this process: reads `NO_COLOR` and asks whether stdout is a
/// terminal, only when `auto` needs to know.
fn human_style(choice: ColorChoice) -> human::Style {
    use std::io::IsTerminal;
    if choice != ColorChoice::Auto {
        return choice.style(None, false);
    }
    choice.style(
        std::env::var_os("NO_COLOR").as_deref(),
        std::io::stdout().is_terminal(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `severity[code]: message`, ` --> path:line:col` and the source line, like rustc.
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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_some_and(|first| first == "generate") {
        return match parse::<GenerateCli>(&args[1..], stdout, stderr) {
            Ok(generate_cli) => report(generate(&generate_cli.what, stdout), stderr),
            Err(code) => code,
        };
    }
    let cli = match parse::<Cli>(&args, stdout, stderr) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Validate(args) => validate(&args, stdout, stderr),
        // The environment is read here, at the edge, so `action::run` stays testable.
        Command::Action => crate::action::run(&process_env(), stdout, stderr),
        Command::Plan(args) => {
            let result =
                crate::commands::registry::plan(&args, &process_env(), stdout, stderr, terminal());
            report(result, stderr)
        }
        Command::Mirror(args) => {
            let result = crate::commands::registry::mirror(
                &args,
                &process_env(),
                stdout,
                stderr,
                terminal(),
            );
            report(result, stderr)
        }
        Command::Migrate(args) => report(migrate(&args, stdout, stderr), stderr),
    }
}

/// `args` parsed, or the exit code after clap's usage error (stderr, 2) or help (stdout, 0).
fn parse<P: Parser>(
    args: &[OsString],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<P, u8> {
    P::try_parse_from(args).map_err(|error| {
        let text = error.render().to_string();
        if error.use_stderr() {
            let _ = stderr.write_all(text.as_bytes());
            EXIT_USAGE
        } else {
            let _ = stdout.write_all(text.as_bytes());
            EXIT_OK
        }
    })
}

/// `qci-mirror generate`: the files are rendered whole before any is written, so a failed write
/// is an error, never a panic inside a generator.
fn generate(what: &Generate, stdout: &mut dyn Write) -> Result<u8, String> {
    use clap::CommandFactory;
    let text = match what {
        Generate::Completions { shell } => crate::generate::completions(*shell, Cli::command()),
        Generate::Man => crate::generate::man(Cli::command()).map_err(|e| e.to_string())?,
    };
    stdout.write_all(&text).map_err(|e| e.to_string())?;
    Ok(EXIT_OK)
}

/// `qci-mirror migrate`: exit 1 when some line cannot be migrated.
fn migrate(
    args: &MigrateArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, String> {
    use crate::mapping::migrate;
    let options = Options {
        istag_registry: args.istag_registry.clone(),
        ..Options::default()
    };
    let config_file = match &args.config {
        Some(path) => path.clone(),
        None => {
            let folder = args.files[0].parent().unwrap_or(Path::new(""));
            let fallback = Path::new(DEFAULT_CONFIG_PATH);
            crate::validate::config_for_mapping(folder, fallback).ok_or_else(|| {
                format!(
                    "no `_config.yaml` beside or above `{}`, nor at {DEFAULT_CONFIG_PATH}: name it with --config",
                    args.files[0].display()
                )
            })?
        }
    };
    let config_path = config_file.display().to_string();
    let checked = check_path(&config_file, &options).map_err(|e| e.to_string())?;
    let config = &checked.config;
    let errors_before = Tally::of(&checked.diagnostics).errors;
    let mut mappings = Vec::new();
    for path in &args.files {
        mappings.push(check_path(path, &options).map_err(|e| e.to_string())?.file);
    }
    let migration = migrate::plan(config, &mappings, &options);
    let io = |e: std::io::Error| e.to_string();
    for skipped in &migration.refused {
        writeln!(
            stderr,
            "{}:{}: cannot migrate: {}",
            skipped.path,
            skipped.line,
            crate::diag::printable(&skipped.reason)
        )
        .map_err(io)?;
    }
    let summary = format!(
        "{} to add, {} already in `{config_path}`, {} cannot be migrated",
        plural(migration.add.len(), "entry", "entries"),
        migration.present.len(),
        migration.refused.len()
    );
    if !args.write {
        if !migration.add.is_empty() {
            write!(
                stdout,
                "supplementalCIImages:\n{}",
                migrate::render(&migration.add, Some(config))
            )
            .map_err(io)?;
        }
        writeln!(stderr, "{summary}").map_err(io)?;
    } else if migration.add.is_empty() {
        writeln!(stderr, "{summary}; `{config_path}` is unchanged").map_err(io)?;
    } else {
        let text = migrate::insert(&checked.file.text, config, &migration.add)?;
        let after = crate::validate::check_text(
            crate::source::SourceFile::new(config_path.clone(), text.clone()),
            &options,
        );
        if Tally::of(&after.diagnostics).errors > errors_before {
            stdout
                .write_all(
                    human::render(&after.file, &after.diagnostics, human_style(args.color))
                        .as_bytes(),
                )
                .map_err(io)?;
            return Err(format!(
                "the migrated config would have new errors (above); `{config_path}` is unchanged"
            ));
        }
        write_in_place(&config_file, &text)
            .map_err(|e| format!("cannot write `{config_path}`: {e}"))?;
        writeln!(stderr, "{summary}; `{config_path}` updated").map_err(io)?;
    }
    Ok(if migration.refused.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Replaces `path`'s contents whole or not at all: a sibling temporary file, then a rename.
fn write_in_place(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let permissions = std::fs::metadata(path)?.permissions();
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".qci-mirror.tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::set_permissions(&temporary, permissions)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

fn validate(args: &ValidateArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    let found;
    let paths = if args.paths.is_empty() {
        match config_above(&std::env::current_dir().unwrap_or_default()) {
            Some(path) => {
                found = [path];
                &found[..]
            }
            None => {
                let _ = writeln!(
                    stderr,
                    "error: no PATH given, and no {DEFAULT_CONFIG_PATH} in this folder or any above it: run inside an openshift/release checkout, or name the config (qci-mirror validate PATH)"
                );
                return EXIT_USAGE;
            }
        }
    } else {
        &args.paths[..]
    };
    let promoted = match promoted_tags(args, paths, stderr) {
        Ok(promoted) => promoted,
        Err(message) => {
            let _ = writeln!(stderr, "error: {}", inert_line(&message));
            return EXIT_USAGE;
        }
    };
    let options = Options {
        target_repository: args.target_repository.clone(),
        istag_registry: args.istag_registry.clone(),
        qci_pull_registry: args.qci_pull_registry.clone(),
        promoted,
    };
    let mut results: Vec<(String, Result<Checked, String>)> = paths
        .iter()
        .map(|path| {
            let result = check_path(path, &options).map_err(|e| e.to_string());
            (path.display().to_string(), result)
        })
        .collect();
    cross_check_mappings(
        results
            .iter_mut()
            .filter_map(|(_, result)| result.as_mut().ok())
            .collect(),
        std::path::Path::new(DEFAULT_CONFIG_PATH),
        &options,
    );

    let mut tally = Tally::default();
    let mut unreadable = false;
    for (_, result) in &results {
        match result {
            Ok(checked) => tally.add(Tally::of(&checked.diagnostics)),
            Err(_) => unreadable = true,
        }
    }

    let written = match args.format {
        Format::Human => write_human(&results, tally, human_style(args.color), stdout, stderr),
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

/// The tags the ci-operator configs promote: from `--ci-operator-config`, which must exist, or
/// from the folder beside the first config when there is one (`None` otherwise, and
/// `target-promoted` does not run). Configs that cannot be read are only a note.
fn promoted_tags(
    args: &ValidateArgs,
    paths: &[PathBuf],
    stderr: &mut dyn Write,
) -> Result<Option<std::sync::Arc<PromotedTags>>, String> {
    let (folder, display) = match &args.ci_operator_config {
        Some(folder) if folder.is_dir() => (folder.clone(), folder.display().to_string()),
        Some(folder) => {
            return Err(format!(
                "--ci-operator-config `{}` is not a folder",
                folder.display()
            ));
        }
        None => {
            let beside = paths.first().map(|p| promoted::folder_beside(p));
            match beside.filter(|folder| folder.is_dir()) {
                Some(folder) => (folder, promoted::DEFAULT_FOLDER.to_owned()),
                None => return Ok(None),
            }
        }
    };
    let scan = promoted::scan(&folder, &display)?;
    if scan.skipped > 0 || scan.truncated {
        let _ = writeln!(stderr, "note: {}", inert_line(&scan.note(&display)));
    }
    Ok(Some(std::sync::Arc::new(scan.promoted)))
}

fn write_human(
    results: &[(String, Result<Checked, String>)],
    tally: Tally,
    style: human::Style,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    let (mut checked_files, mut unreadable) = (0, 0);
    for (_, result) in results {
        match result {
            Ok(checked) => {
                checked_files += 1;
                stdout.write_all(
                    human::render(&checked.file, &checked.diagnostics, style).as_bytes(),
                )?;
                if let Some(note) = nothing_to_mirror(checked) {
                    writeln!(stdout, "{}: note: {note}", inert_line(&checked.file.path))?;
                }
            }
            Err(message) => {
                unreadable += 1;
                writeln!(stderr, "error: {}", inert_line(message))?;
            }
        }
    }
    let totals = format!(
        "{} checked: {}, {}",
        human::count(checked_files, "file"),
        human::count(tally.errors, "error"),
        human::count(tally.warnings, "warning")
    );
    // A file that could not be read was not checked: the last line must not read as a pass.
    if unreadable > 0 {
        writeln!(
            stdout,
            "{totals}; {} could not be read",
            human::count(unreadable, "file")
        )
    } else {
        writeln!(stdout, "{totals}")
    }
}

/// A note for a config that asks for no mirroring at all (empty, or without
/// `supplementalCIImages` entries): valid, but rarely what was meant.
fn nothing_to_mirror(checked: &Checked) -> Option<&'static str> {
    // A file with errors has more to fix first; what it would mirror is not known yet.
    let has_errors = checked
        .diagnostics
        .iter()
        .any(|d| d.severity == crate::diag::Severity::Error);
    if crate::validate::is_mapping(checked) || has_errors {
        return None;
    }
    let config = &checked.config;
    if config.top_keys.is_empty() {
        return Some("the file has no content: nothing is mirrored");
    }
    if config.supplemental_entries().next().is_none() {
        return Some("no `supplementalCIImages` entries: nothing is mirrored into QCI");
    }
    None
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
            writeln!(stderr, "error: {}", inert_line(message))?;
        }
    }
    stdout.write_all(json::render(files).as_bytes())
}

/// The process environment, read here at the edge so commands stay testable. `vars()` would
/// panic on a variable that is not UTF-8; such a variable is not ours.
fn process_env() -> std::collections::HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The openshift/release config in `folder` or the nearest folder above it, so `validate`
/// works from anywhere in a checkout.
/// The path is relative (`../../core-services/…`), as a user would type it.
fn config_above(folder: &Path) -> Option<PathBuf> {
    folder
        .ancestors()
        .enumerate()
        .find(|(_, above)| above.join(DEFAULT_CONFIG_PATH).is_file())
        .map(|(up, _)| PathBuf::from(format!("{}{DEFAULT_CONFIG_PATH}", "../".repeat(up))))
}

/// Whether stderr is a terminal, where progress is drawn live.
fn terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// A command's result as an exit code, its error on stderr.
fn report(result: Result<u8, String>, stderr: &mut dyn Write) -> u8 {
    result.unwrap_or_else(|message| {
        let _ = writeln!(stderr, "error: {}", inert_line(&message));
        EXIT_USAGE
    })
}

#[cfg(test)]
mod tests {
    use super::{ColorChoice, human};
    use std::ffi::OsStr;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set_and_always_overrides_it() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        let cases = [
            (ColorChoice::Auto, None, true, human::Style::Colored),
            (ColorChoice::Auto, empty, true, human::Style::Colored),
            (ColorChoice::Auto, set, true, human::Style::Plain),
            (ColorChoice::Auto, None, false, human::Style::Plain),
            (ColorChoice::Always, set, false, human::Style::Colored),
            (ColorChoice::Never, None, true, human::Style::Plain),
        ];
        for (choice, no_color, terminal, style) in cases {
            assert_eq!(
                choice.style(no_color, terminal),
                style,
                "{choice:?} NO_COLOR={no_color:?} terminal={terminal}"
            );
        }
    }
}
