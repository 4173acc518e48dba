//! Command-line entry point: parses the arguments and hands each command to the commands layer
//! (`commands`, and the action), which decides its exit code. It writes to the writers it is
//! given, so tests run the whole CLI in memory.

use crate::commands::{EXIT_OK, EXIT_USAGE, Failure};
use crate::github::console::inert_line;
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write;

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
    Validate(crate::commands::validate::ValidateArgs),
    /// Run as the GitHub container action: settings come from `QCI_*` and `GITHUB_*` variables.
    Action,
    /// Show what a mirror run would do (read-only: HEAD requests only).
    Plan(crate::commands::registry::PlanArgs),
    /// Copy every entry that is not up to date into the target repository, digest-exact.
    Mirror(crate::commands::registry::MirrorArgs),
    /// Turn deprecated mapping-file lines into `supplementalCIImages` entries.
    Migrate(crate::commands::migrate::MigrateArgs),
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
        Command::Validate(args) => report(
            crate::commands::validate::run(&args, stdout, stderr),
            stderr,
        ),
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
        Command::Migrate(args) => {
            report(crate::commands::migrate::run(&args, stdout, stderr), stderr)
        }
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
fn generate(what: &Generate, stdout: &mut dyn Write) -> Result<u8, Failure> {
    use clap::CommandFactory;
    let text = match what {
        Generate::Completions { shell } => crate::generate::completions(*shell, Cli::command()),
        Generate::Man => crate::generate::man(Cli::command()).map_err(Failure::Manual)?,
    };
    stdout.write_all(&text)?;
    Ok(EXIT_OK)
}

/// The process environment, read here at the edge so commands stay testable. `vars()` would
/// panic on a variable that is not UTF-8; such a variable is not ours.
fn process_env() -> std::collections::HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Whether stderr is a terminal, where progress is drawn live.
fn terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// A command's result as an exit code, its error on stderr.
fn report(result: Result<u8, Failure>, stderr: &mut dyn Write) -> u8 {
    result.unwrap_or_else(|failure| {
        let _ = writeln!(stderr, "error: {}", inert_line(&failure.to_string()));
        failure.exit_code()
    })
}
