//! Why a command stopped before it could report: each lower layer's typed error, and the few
//! refusals only a command knows. Every failure is exit 2, so a broken pipeline never reads as
//! findings in the config.

use super::EXIT_USAGE;
use crate::mapping::migrate::InsertError;
use crate::promoted::ScanError;
use crate::registry::SetupError;
use crate::selection::UnknownNames;
use crate::settings::CredentialsError;
use crate::validate::ReadError;
use std::path::PathBuf;

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A file the command works on could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A file the command writes could not be written; nothing was half-written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Standard output or error went away (a closed pipe, a full disk).
    #[error(transparent)]
    Output(#[from] std::io::Error),
    /// No config was named and none was found where one is looked for.
    #[error("{0}")]
    NoConfig(NoConfig),
    /// A folder the command was pointed at is not one.
    #[error("{flag} `{}` is not a folder", path.display())]
    NotAFolder {
        /// The flag that named it.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// `--changed-since` could not read the earlier version.
    #[error(transparent)]
    Revision(#[from] RevisionError),
    /// `--only` or a dispatch names no entry.
    #[error(transparent)]
    UnknownNames(#[from] UnknownNames),
    /// Registry credentials in the environment cannot be used.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// Registry connections could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The async runtime could not start.
    #[error(transparent)]
    Runtime(#[from] crate::RuntimeError),
    /// The ci-operator configs could not be scanned.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// `migrate --write` cannot place entries in this config's text.
    #[error(transparent)]
    Insert(#[from] InsertError),
    /// `migrate --write` would make the config worse; it is unchanged.
    #[error("the migrated config would have new errors (above); `{}` is unchanged", .0.display())]
    WouldAddErrors(PathBuf),
    /// `mirror` was run for an event whose config is not merged.
    #[error(
        "mirroring never runs for pull-request or merge-queue events: their config is not merged yet"
    )]
    UnmergedEvent,
    /// The man page could not be rendered.
    #[error("cannot render the man page: {0}")]
    Manual(std::io::Error),
}

impl Failure {
    /// The exit code: always "could not run", never "findings".
    pub fn exit_code(&self) -> u8 {
        EXIT_USAGE
    }
}

/// Where a command looked for a config it was not given.
#[derive(Debug)]
pub enum NoConfig {
    /// `validate` without PATH: from the working folder upward.
    ForValidate,
    /// `migrate` without `--config`: beside and above the first mapping file.
    ForMigrate {
        /// The first mapping file.
        mapping: PathBuf,
    },
}

impl std::fmt::Display for NoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::settings::DEFAULT_CONFIG_PATH;
        match self {
            NoConfig::ForValidate => write!(
                f,
                "no PATH given, and no {DEFAULT_CONFIG_PATH} in this folder or any above it: run inside an openshift/release checkout, or name the config (qci-mirror validate PATH)"
            ),
            NoConfig::ForMigrate { mapping } => write!(
                f,
                "no `_config.yaml` beside or above `{}`, nor at {DEFAULT_CONFIG_PATH}: name it with --config",
                mapping.display()
            ),
        }
    }
}

/// Why `--changed-since` could not read the config as it was.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// git could not be started.
    #[error("--changed-since needs git: {0}")]
    NoGit(std::io::Error),
    /// git does not know the revision in that checkout.
    #[error("--changed-since: `{rev}` is not a revision of the git checkout that holds `{}`", path.display())]
    Unknown {
        /// The revision given.
        rev: String,
        /// The config whose checkout was asked.
        path: PathBuf,
    },
}
