//! Checking one file end to end: read it (bounded), decode it, load it, run every rule.

use crate::config::{self, model::Config};
use crate::diag::{Code, Diagnostic, sort_and_dedup};
use crate::mapping;
use crate::rules::{self, Options};
use crate::source::{SourceFile, Span, utf8_error_span};
use std::io::Read;
use std::path::Path;

/// The largest file that is read. The real config is 53 KB and a generated 100,000-entry config
/// about 7 MB; anything far past that is a mistake (or an attack), not a config.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A checked file: its text and every finding, sorted.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The file, for rendering snippets.
    pub file: SourceFile,
    /// Findings in a stable order.
    pub diagnostics: Vec<Diagnostic>,
    /// What the file says, as loaded for the checks: empty for a mapping file, or for a file
    /// that is not text at all.
    pub config: Config,
}

/// Why a file could not be checked at all (exit code 2, not a finding).
#[derive(Debug, thiserror::Error)]
#[error("cannot read `{path}`: {source}")]
pub struct ReadError {
    /// The path as given.
    pub path: String,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

/// Reads and checks the file at `path`.
pub fn check_path(path: &Path, options: &Options) -> Result<Checked, ReadError> {
    let display = path.display().to_string();
    let fail = |source| ReadError {
        path: display.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let metadata = file.metadata().map_err(fail)?;
    if metadata.is_dir() {
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    let mut bytes = Vec::new();
    // Read one byte past the limit so that a file growing under us, or a pipe, is caught too.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let size = metadata.len().max(bytes.len() as u64);
        return Ok(too_large(display, size));
    }
    Ok(check_bytes(display, &bytes, options))
}

fn too_large(path: String, size: u64) -> Checked {
    #[allow(clippy::cast_precision_loss)]
    let mib = |n: u64| n as f64 / (1024.0 * 1024.0);
    Checked {
        file: SourceFile::new(path, String::new()),
        diagnostics: vec![Diagnostic::error(
            Code::FileTooLarge,
            Span::new(1, 1, 1),
            format!(
                "the file is {size} bytes ({:.1} MiB); a config may be at most {MAX_FILE_BYTES} bytes ({:.0} MiB)",
                mib(size),
                mib(MAX_FILE_BYTES)
            ),
        )],
        config: Config::default(),
    }
}

/// Checks file contents already in memory.
pub fn check_bytes(path: impl Into<String>, bytes: &[u8], options: &Options) -> Checked {
    let path = path.into();
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return too_large(path, bytes.len() as u64);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(error) => {
            let span = utf8_error_span(bytes, &error);
            let byte = bytes[error.valid_up_to()];
            return Checked {
                file: SourceFile::new(path, String::new()),
                diagnostics: vec![Diagnostic::error(
                    Code::InvalidEncoding,
                    span,
                    format!("the file is not UTF-8 text: byte 0x{byte:02X} cannot start or continue a character here"),
                ).with_help("save the file as UTF-8")],
                config: Config::default(),
            };
        }
    };
    check_text(SourceFile::new(path, text), options)
}

/// Checks decoded text: a deprecated mapping file (told apart by name or content) or a config.
pub fn check_text(file: SourceFile, options: &Options) -> Checked {
    if mapping::is_mapping_file(&file.path, &file.text) {
        let mut diagnostics = mapping::check::check(&mapping::parse(&file));
        sort_and_dedup(&mut diagnostics);
        return Checked {
            file,
            diagnostics,
            config: Config::default(),
        };
    }
    let (config, mut diagnostics) = config::load(&file);
    diagnostics.extend(rules::check(&config, options));
    sort_and_dedup(&mut diagnostics);
    Checked {
        file,
        diagnostics,
        config,
    }
}

/// Whether a checked file is a mapping file (rather than a config).
pub fn is_mapping(checked: &Checked) -> bool {
    mapping::is_mapping_file(&checked.file.path, &checked.file.text)
}

/// The config that mapping files in `folder` belong to: `_config.yaml` beside them or in the
/// folder above (openshift/release keeps them in `supplemental-ci-images/` under the config's
/// folder), else `fallback` when it exists.
pub fn config_for_mapping(folder: &Path, fallback: &Path) -> Option<std::path::PathBuf> {
    let above = match folder.parent() {
        Some(parent) if !folder.as_os_str().is_empty() => parent.join("_config.yaml"),
        _ => folder.join("../_config.yaml"),
    };
    [folder.join("_config.yaml"), above, fallback.to_owned()]
        .into_iter()
        .find(|path| path.is_file())
}

/// Adds to each mapping file among `checked` the targets that a config defines too: the
/// configs among `checked`, or else the `_config.yaml` beside the first mapping file or one
/// folder up (where openshift/release kept them), or else `fallback`.
pub fn cross_check_mappings(mut checked: Vec<&mut Checked>, fallback: &Path, options: &Options) {
    let Some(first_mapping) = checked.iter().find(|c| is_mapping(c)) else {
        return;
    };
    let folder = Path::new(&first_mapping.file.path)
        .parent()
        .unwrap_or(Path::new(""))
        .to_owned();
    let mut configs: Vec<&Checked> = checked
        .iter()
        .map(|c| &**c)
        .filter(|c| !is_mapping(c))
        .collect();
    let loaded;
    if configs.is_empty() {
        loaded =
            config_for_mapping(&folder, fallback).and_then(|path| check_path(&path, options).ok());
        configs.extend(loaded.as_ref());
    }
    let defined: Vec<mapping::check::Defined> = configs
        .iter()
        .flat_map(|checked| {
            mapping::check::defined_in(&checked.config, &checked.file.path, options)
        })
        .collect();
    for file in checked.iter_mut().filter(|c| is_mapping(c)) {
        let parsed = mapping::parse(&file.file);
        file.diagnostics
            .extend(mapping::check::defined_elsewhere(&parsed, &defined));
        sort_and_dedup(&mut file.diagnostics);
    }
}
