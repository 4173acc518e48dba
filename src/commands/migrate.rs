//! `qci-mirror migrate`: turns deprecated mapping-file lines into `supplementalCIImages`
//! entries, printed or written into the config in place.

use super::validate::{ColorChoice, human_style};
use super::{EXIT_FINDINGS, EXIT_OK, Failure, NoConfig};
use crate::diag::Tally;
use crate::report::human;
use crate::rules::{DEFAULT_ISTAG_REGISTRY, Options};
use crate::settings::DEFAULT_CONFIG_PATH;
use crate::validate::check_path;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The config the entries go into: `--config`, else the one beside or above the first
/// mapping file, as `validate` finds it.
fn config_file(args: &MigrateArgs) -> Result<PathBuf, Failure> {
    if let Some(path) = &args.config {
        return Ok(path.clone());
    }
    let folder = args.files[0].parent().unwrap_or(Path::new(""));
    let fallback = Path::new(DEFAULT_CONFIG_PATH);
    crate::validate::config_for_mapping(folder, fallback).ok_or_else(|| {
        Failure::NoConfig(NoConfig::ForMigrate {
            mapping: args.files[0].clone(),
        })
    })
}

/// `qci-mirror migrate`'s arguments.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
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

/// `qci-mirror migrate`: exit 1 when some line cannot be migrated.
pub fn run(
    args: &MigrateArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    use crate::mapping::migrate;
    let options = Options {
        istag_registry: args.istag_registry.clone(),
        ..Options::default()
    };
    let config_file = config_file(args)?;
    let config_path = config_file.display().to_string();
    let checked = check_path(&config_file, &options)?;
    let config = &checked.config;
    let errors_before = Tally::of(&checked.diagnostics).errors;
    let mut mappings = Vec::new();
    for path in &args.files {
        mappings.push(check_path(path, &options)?.file);
    }
    let migration = migrate::plan(config, &mappings, &options);
    for skipped in &migration.refused {
        writeln!(
            stderr,
            "{}:{}: cannot migrate: {}",
            skipped.path,
            skipped.line,
            crate::diag::printable(&skipped.reason)
        )?;
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
            )?;
        }
        writeln!(stderr, "{summary}")?;
    } else if migration.add.is_empty() {
        writeln!(stderr, "{summary}; `{config_path}` is unchanged")?;
    } else {
        let text = migrate::insert(&checked.file.text, config, &migration.add)?;
        refuse_new_errors(&text, &config_file, errors_before, args, &options, stdout)?;
        write_in_place(&config_file, &text).map_err(|source| Failure::Write {
            path: config_file.clone(),
            source,
        })?;
        writeln!(stderr, "{summary}; `{config_path}` updated")?;
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

/// Nothing is written that would add errors to the config: the migrated text is checked first,
/// and its findings shown when it would.
fn refuse_new_errors(
    text: &str,
    config_file: &Path,
    errors_before: usize,
    args: &MigrateArgs,
    options: &Options,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
    let after = crate::validate::check_text(
        crate::source::SourceFile::new(config_file.display().to_string(), text.to_owned()),
        options,
    );
    if Tally::of(&after.diagnostics).errors <= errors_before {
        return Ok(());
    }
    stdout.write_all(
        human::render(&after.file, &after.diagnostics, human_style(args.color)).as_bytes(),
    )?;
    Err(Failure::WouldAddErrors(config_file.to_path_buf()))
}
