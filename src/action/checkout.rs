//! Reading files at the commits of an event. In the action's image there is no git, so the
//! GitHub API serves everything: file contents at a commit (contents API) and a pull request's
//! changed files (pull request files API). That is the production path. Git is used only where
//! the environment the action was given has it on `PATH` and the checkout holds the commit: a
//! convenience for running `qci-mirror action` in a local clone.

use super::Environment;
use crate::github::api::{ApiError, ChangedFile, Repository};
use std::path::{Path, PathBuf};

/// Why a file of the event's commits, or the list of files a pull request changes, cannot be
/// read.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    /// Commit ids come from the event payload; only hex reaches git or a URL.
    #[error("`{0}` is not a commit id")]
    NotACommitId(String),
    #[error("cannot run git: {0}")]
    GitCannotRun(#[source] std::io::Error),
    #[error("cannot run git in `{}`: {source}", workspace.display())]
    GitCannotRunIn {
        workspace: PathBuf,
        source: std::io::Error,
    },
    #[error("git could not compare {base} with {head}: {stderr}")]
    GitCannotCompare {
        base: String,
        head: String,
        stderr: String,
    },
    #[error("git listed the changes between {base} and {head} in a form this version cannot read")]
    GitListingUnreadable { base: String, head: String },
    #[error("cannot read `{path}` at {sha} from GitHub: {source}")]
    Contents {
        path: String,
        sha: String,
        source: ApiError,
    },
    #[error("cannot list the files of pull request #{number}: {source}")]
    PullRequestFiles { number: u64, source: ApiError },
    #[error("cannot list the files that differ between {base} and {head}: {source}")]
    ComparedFiles {
        base: String,
        head: String,
        source: ApiError,
    },
    #[error(
        "cannot read `{path}` at {sha}: GITHUB_REPOSITORY is not set, so GitHub's contents API cannot be asked{hint}"
    )]
    NoRepositoryToRead {
        path: String,
        sha: String,
        hint: MissingCommitHint,
    },
    #[error(
        "GITHUB_REPOSITORY is not set, so GitHub cannot be asked which files changed between {base} and {head}{hint}"
    )]
    NoRepositoryToCompare {
        base: String,
        head: String,
        hint: MissingCommitHint,
    },
    /// A commit could plant a link that points the config anywhere.
    #[error(
        "the config `{path}` resolves to `{}`, outside the workspace `{}`: refused, since a commit could point it anywhere",
        resolved.display(),
        workspace.display()
    )]
    ConfigOutsideWorkspace {
        path: String,
        resolved: PathBuf,
        workspace: PathBuf,
    },
    #[error("the config `{0}` is a folder: config_path names the file itself")]
    ConfigIsFolder(String),
    #[error("cannot read the config `{path}` in the workspace: {source}")]
    ConfigUnreadable {
        path: String,
        source: std::io::Error,
    },
}

/// What to do when neither git nor the API can serve a commit: only with git does the
/// checkout's depth matter.
#[derive(Debug)]
pub(super) enum MissingCommitHint {
    /// git has no such commit in the checkout at `workspace`.
    NotInCheckout { sha: String, workspace: PathBuf },
    /// There is no git to ask.
    NoGit,
}

impl std::fmt::Display for MissingCommitHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MissingCommitHint::NotInCheckout { sha, workspace } => write!(
                f,
                ", and commit {sha} is not in the git checkout at `{}` (check out with `fetch-depth: 0`, or set GITHUB_REPOSITORY)",
                workspace.display()
            ),
            MissingCommitHint::NoGit => {
                f.write_str(" (there is no git on PATH either, as in the action's image)")
            }
        }
    }
}

/// git, found on the `PATH` of the action's environment, for one checkout.
pub(super) struct Git {
    program: PathBuf,
    workspace: PathBuf,
}

impl Git {
    /// git from the action's `PATH`, for its workspace; `None` without one (the image).
    fn find(environment: &Environment) -> Option<Git> {
        use std::os::unix::fs::PermissionsExt;
        let path = environment.search_path.as_ref()?;
        std::env::split_paths(path)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join("git"))
            .find(|candidate| {
                candidate
                    .metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .map(|program| Git {
                program,
                workspace: environment.workspace.clone(),
            })
    }

    /// git with `safe.directory` set, because inside a container the workspace is owned by
    /// another user (actions/runner#2033).
    fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command
            .args(["-c", "safe.directory=*"])
            .current_dir(&self.workspace);
        command
    }
}

/// Where an event's commits are read from: git when it has the commit, else the API.
pub(super) struct Commits<'a> {
    runtime: &'a tokio::runtime::Runtime,
    git: Option<Git>,
    api: Option<&'a Repository>,
}

impl<'a> Commits<'a> {
    /// Reads through `api` on `runtime`, and through git where the action's `PATH` has it.
    pub(super) fn new(
        runtime: &'a tokio::runtime::Runtime,
        api: Option<&'a Repository>,
        environment: &Environment,
    ) -> Self {
        Commits {
            runtime,
            git: Git::find(environment),
            api,
        }
    }

    /// The bytes of `path` in commit `sha`; `None` when the commit has no such file. A file
    /// over the size a config may have is an error rather than cut.
    pub(super) fn read(&self, sha: &str, path: &str) -> Result<Option<Vec<u8>>, ReadError> {
        check_commit_id(sha)?;
        if let Some(git) = &self.git {
            match git_show(git, sha, path)? {
                GitRead::File(bytes) => return Ok(Some(bytes)),
                GitRead::NoFile => return Ok(None),
                GitRead::NoCommit => {}
            }
        }
        match self.api {
            Some(api) => self
                .runtime
                .block_on(api.file_at(path, sha, READ_LIMIT))
                .map_err(|source| ReadError::Contents {
                    path: path.to_owned(),
                    sha: sha.to_owned(),
                    source,
                }),
            None => Err(ReadError::NoRepositoryToRead {
                path: path.to_owned(),
                sha: sha.to_owned(),
                hint: self.missing_commit_hint(sha),
            }),
        }
    }

    /// The files a pull request changes between `base` and `head`: from git when it has both
    /// commits, else from the pull request files API (which needs the PR `number`).
    pub(super) fn changed_files(
        &self,
        base: &str,
        head: &str,
        number: Option<u64>,
    ) -> Result<Vec<ChangedFile>, ReadError> {
        check_commit_id(base)?;
        check_commit_id(head)?;
        if let Some(git) = &self.git
            && has_commit(git, base)?
            && has_commit(git, head)?
        {
            return git_changed_files(git, base, head);
        }
        match (self.api, number) {
            (Some(api), Some(number)) => self
                .runtime
                .block_on(api.pull_request_files(number))
                .map_err(|source| ReadError::PullRequestFiles { number, source }),
            // A merge group has no pull request of its own: compare its two commits.
            (Some(api), None) => self
                .runtime
                .block_on(api.compared_files(base, head))
                .map_err(|source| ReadError::ComparedFiles {
                    base: base.to_owned(),
                    head: head.to_owned(),
                    source,
                }),
            (None, _) => Err(ReadError::NoRepositoryToCompare {
                base: base.to_owned(),
                head: head.to_owned(),
                hint: self.missing_commit_hint(base),
            }),
        }
    }

    fn missing_commit_hint(&self, sha: &str) -> MissingCommitHint {
        match &self.git {
            Some(git) => MissingCommitHint::NotInCheckout {
                sha: sha.to_owned(),
                workspace: git.workspace.clone(),
            },
            None => MissingCommitHint::NoGit,
        }
    }
}

/// The most of one file read from a commit: one byte past the largest config `validate`
/// takes, so that a larger one is reported as too large rather than read whole.
const READ_LIMIT: usize = crate::validate::MAX_FILE_BYTES as usize + 1;

/// What git has of a file at a commit.
enum GitRead {
    /// The file's bytes.
    File(Vec<u8>),
    /// The commit exists but has no such file.
    NoFile,
    /// The commit is not in the checkout (a shallow clone).
    NoCommit,
}

/// Commit ids come from the event payload; only hex reaches git or a URL.
fn check_commit_id(sha: &str) -> Result<(), ReadError> {
    if sha.is_empty() || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ReadError::NotACommitId(sha.to_owned()));
    }
    Ok(())
}

/// The bytes of `path` in the checkout at `workspace`, as schedule and dispatch runs read the
/// config: a path that resolves outside the workspace (a symlink a commit planted, `..`) or
/// names a folder is refused, and at most [`READ_LIMIT`] bytes are read, so a larger file is
/// a finding on it rather than memory spent.
pub(super) fn read_in_workspace(workspace: &Path, path: &str) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let joined = workspace.join(path);
    let cannot = |source: std::io::Error| ReadError::ConfigUnreadable {
        path: path.to_owned(),
        source,
    };
    let root = workspace.canonicalize().map_err(cannot)?;
    let resolved = joined.canonicalize().map_err(cannot)?;
    if !resolved.starts_with(&root) {
        return Err(ReadError::ConfigOutsideWorkspace {
            path: path.to_owned(),
            resolved,
            workspace: root,
        });
    }
    let file = std::fs::File::open(&resolved).map_err(cannot)?;
    if file.metadata().map_err(cannot)?.is_dir() {
        return Err(ReadError::ConfigIsFolder(path.to_owned()));
    }
    let mut bytes = Vec::new();
    file.take(READ_LIMIT as u64)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    Ok(bytes)
}

/// The file at `path` in commit `sha`, read with git from the checkout.
fn git_show(git: &Git, sha: &str, path: &str) -> Result<GitRead, ReadError> {
    if !has_commit(git, sha)? {
        return Ok(GitRead::NoCommit);
    }
    let shown = git
        .command()
        .arg("show")
        .arg(format!("{sha}:{path}"))
        .output()
        .map_err(ReadError::GitCannotRun)?;
    if !shown.status.success() {
        return Ok(GitRead::NoFile);
    }
    // As the API read: a file past the limit is kept to it, and found too large.
    let mut bytes = shown.stdout;
    bytes.truncate(READ_LIMIT);
    Ok(GitRead::File(bytes))
}

/// Whether the checkout has commit `sha`.
fn has_commit(git: &Git, sha: &str) -> Result<bool, ReadError> {
    let output = git
        .command()
        .args(["cat-file", "-e"])
        .arg(format!("{sha}^{{commit}}"))
        .output()
        .map_err(|source| ReadError::GitCannotRunIn {
            workspace: git.workspace.clone(),
            source,
        })?;
    Ok(output.status.success())
}

fn git_changed_files(git: &Git, base: &str, head: &str) -> Result<Vec<ChangedFile>, ReadError> {
    let output = git
        .command()
        .args(["diff", "--name-status", "-z", "-M"])
        .args([base, head])
        .output()
        .map_err(ReadError::GitCannotRun)?;
    if !output.status.success() {
        return Err(ReadError::GitCannotCompare {
            base: base.to_owned(),
            head: head.to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    parse_name_status(&output.stdout).ok_or_else(|| ReadError::GitListingUnreadable {
        base: base.to_owned(),
        head: head.to_owned(),
    })
}

/// Reads `git diff --name-status -z` output: a status, then one path, or two for renames and
/// copies (`R100`, `C075`: the old path first).
fn parse_name_status(output: &[u8]) -> Option<Vec<ChangedFile>> {
    let mut fields = output
        .split(|&b| b == 0)
        .filter(|field| !field.is_empty())
        .map(|field| String::from_utf8_lossy(field).into_owned());
    let mut files = Vec::new();
    while let Some(status) = fields.next() {
        let first = fields.next()?;
        let file = match status.chars().next()? {
            'R' | 'C' => ChangedFile {
                path: fields.next()?,
                previous: Some(first),
                removed: false,
            },
            'D' => ChangedFile {
                path: first,
                previous: None,
                removed: true,
            },
            _ => ChangedFile {
                path: first,
                previous: None,
                removed: false,
            },
        };
        files.push(file);
    }
    Some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_lists_renames_with_their_old_path() {
        let files =
            parse_name_status(b"M\0a/_config.yaml\0R087\0old/m_x\0new/m_x\0D\0gone\0A\0new\0")
                .unwrap();
        let shown: Vec<(&str, Option<&str>, bool)> = files
            .iter()
            .map(|f| (f.path.as_str(), f.previous.as_deref(), f.removed))
            .collect();
        assert_eq!(
            shown,
            [
                ("a/_config.yaml", None, false),
                ("new/m_x", Some("old/m_x"), false),
                ("gone", None, true),
                ("new", None, false),
            ]
        );
        assert!(parse_name_status(b"R100\0only-one\0").is_none());
    }
}
