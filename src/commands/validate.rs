//! `qci-mirror validate`: checks configs and mapping files and reports every problem on its
//! line; `--changed-since` holds a local change to its own entries, as a pull request is held.

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Failure, NoConfig, RevisionError};
use crate::diag::Tally;
use crate::github::console::inert_line;
use crate::promoted::{self, PromotedTags};
use crate::report::{human, json};
use crate::rules::Options;
use crate::settings::DEFAULT_CONFIG_PATH;
use crate::validate::{Checked, ReadError, check_path, cross_check_mappings};
use clap::ValueEnum;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `qci-mirror validate`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Config files to check (default: core-services/image-mirroring/_config.yaml in this
    /// folder or the nearest one above it, as in an openshift/release checkout).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(flatten)]
    places: super::Places,
    /// Check as a pull request is checked: only errors in entries added or changed since this
    /// git revision (`origin/main`, a commit) fail; the rest are reported. Needs git.
    #[arg(long, value_name = "REV")]
    changed_since: Option<String>,
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
pub(crate) enum ColorChoice {
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
pub(crate) fn human_style(choice: ColorChoice) -> human::Style {
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

/// The paths given, or the openshift/release config found from where the command runs.
fn paths_to_check(args: &ValidateArgs) -> Result<Vec<PathBuf>, Failure> {
    if !args.paths.is_empty() {
        return Ok(args.paths.clone());
    }
    match config_above(&std::env::current_dir().unwrap_or_default()) {
        Some(path) => Ok(vec![path]),
        None => Err(Failure::NoConfig(NoConfig::ForValidate)),
    }
}

/// `qci-mirror validate`: exit 1 when an error fails the check, 2 when a file cannot be read.
pub fn run(
    args: &ValidateArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let paths = paths_to_check(args)?;
    let promoted = promoted_tags(args, &paths, stderr)?;
    let options = Options {
        promoted,
        ..args.places.options()
    };
    let mut results: Vec<(String, Result<Checked, ReadError>)> = paths
        .iter()
        .map(|path| {
            let result = check_path(path, &options);
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

    let blocking = match &args.changed_since {
        None => tally.errors,
        Some(rev) => blocking_since(rev, &mut results, &options)?,
    };
    let mut written = match args.format {
        Format::Human => write_human(&results, tally, human_style(args.color), stdout, stderr),
        Format::Json => write_json(&results, stdout, stderr),
    };
    if let (Some(rev), Format::Human) = (&args.changed_since, args.format) {
        written = written.and_then(|()| {
            writeln!(
                stdout,
                "{} in entries added or changed since {}: only those fail this check, as on a pull request",
                human::count(blocking, "error"),
                inert_line(rev)
            )
        });
    }
    // A report that could not be written, or a file that could not be read, was said where it
    // could be; the code must not read as a pass.
    Ok(if written.is_err() || unreadable {
        EXIT_USAGE
    } else if blocking > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// How many errors of `results` lie in entries added or changed since `rev` (a local git
/// revision), as a pull request check counts them; `target-promoted` on such a key becomes an
/// error, as there.
fn blocking_since(
    rev: &str,
    results: &mut [(String, Result<Checked, ReadError>)],
    options: &Options,
) -> Result<usize, RevisionError> {
    let mut blocking = 0;
    for checked in results.iter_mut().filter_map(|(_, r)| r.as_mut().ok()) {
        if crate::validate::is_mapping(checked) {
            continue;
        }
        let path = Path::new(&checked.file.path).to_owned();
        let base_text = file_at_revision(&path, rev)?;
        let base = crate::validate::check_text(
            crate::source::SourceFile::new(checked.file.path.clone(), base_text),
            options,
        );
        let diff = crate::entries::diff::diff(&base.config, &checked.config);
        let mut diagnostics = checked.diagnostics.clone();
        crate::rules::target_promoted::escalate_changed(
            &mut diagnostics,
            &diff.changed_supplemental_key_lines(),
        );
        let entries = crate::entries::Layout::of(&checked.config);
        let findings = crate::verdict::classify(
            &checked.file.path,
            &diagnostics,
            &base.diagnostics,
            &diff,
            &entries,
            crate::verdict::FailOn::Changed,
        );
        blocking += findings.iter().filter(|f| f.blocking).count();
        drop(findings);
        checked.diagnostics = diagnostics;
    }
    Ok(blocking)
}

/// The text of `path` at git revision `rev` of the checkout it is in; empty when the file did
/// not exist then (every entry is new). A revision git does not know is an error.
fn file_at_revision(path: &Path, rev: &str) -> Result<String, RevisionError> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(folder)
            .args(args)
            .output()
            .map_err(RevisionError::NoGit)
    };
    let commit = format!("{rev}^{{commit}}");
    let known = git(&["rev-parse", "--verify", "--quiet", &commit])?;
    if !known.status.success() {
        return Err(RevisionError::Unknown {
            rev: rev.to_owned(),
            path: path.to_path_buf(),
        });
    }
    let shown = git(&["show", &format!("{rev}:./{file}")])?;
    Ok(if shown.status.success() {
        String::from_utf8_lossy(&shown.stdout).into_owned()
    } else {
        String::new()
    })
}

/// The tags the ci-operator configs promote: from `--ci-operator-config`, which must exist, or
/// from the folder beside the first config when there is one (`None` otherwise, and
/// `target-promoted` does not run). Configs that cannot be read are only a note.
fn promoted_tags(
    args: &ValidateArgs,
    paths: &[PathBuf],
    stderr: &mut dyn Write,
) -> Result<Option<std::sync::Arc<PromotedTags>>, Failure> {
    let (folder, display) = match &args.ci_operator_config {
        Some(folder) if folder.is_dir() => (folder.clone(), folder.display().to_string()),
        Some(folder) => {
            return Err(Failure::NotAFolder {
                flag: "--ci-operator-config",
                path: folder.clone(),
            });
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
    results: &[(String, Result<Checked, ReadError>)],
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
            Err(error) => {
                unreadable += 1;
                writeln!(stderr, "error: {}", inert_line(&error.to_string()))?;
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
    results: &[(String, Result<Checked, ReadError>)],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    let files = results
        .iter()
        .map(|(path, result)| match result {
            Ok(checked) => json::FileReport::checked(path, &checked.diagnostics),
            Err(error) => json::FileReport::unreadable(path, error.to_string()),
        })
        .collect();
    for (_, result) in results {
        if let Err(error) = result {
            writeln!(stderr, "error: {}", inert_line(&error.to_string()))?;
        }
    }
    stdout.write_all(json::render(files).as_bytes())
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
