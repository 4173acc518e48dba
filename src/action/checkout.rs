//! Reading files at the pull request's commits: from git when the checkout has them, else from
//! the GitHub API (the action's image has no git, and a shallow checkout lacks the commits).

use crate::github::api::Repository;
use std::path::Path;

/// The config at commit `sha`: from git when the checkout has the commit (no API call, works
/// without a token), else from the contents API. `None` when the commit has no such file.
pub(super) fn read_version(
    runtime: &tokio::runtime::Runtime,
    workspace: &Path,
    api: Option<&Repository>,
    sha: &str,
    path: &str,
) -> Result<Option<String>, String> {
    match (git_show(workspace, sha, path)?, api) {
        (GitRead::File(text), _) => Ok(Some(text)),
        (GitRead::NoFile, _) => Ok(None),
        (GitRead::NoCommit, Some(api)) => runtime
            .block_on(api.file_at(path, sha))
            .map_err(|e| format!("cannot read `{path}` at {sha} from GitHub: {e}")),
        (GitRead::NoCommit, None) => Err(format!(
            "commit {sha} is not in the checkout at `{}` and no repository is set to ask GitHub; check out with `fetch-depth: 2` (or 0) so the pull request's base and head commits are present",
            workspace.display()
        )),
    }
}

/// What git has of a file at a commit.
enum GitRead {
    /// The file's text.
    File(String),
    /// The commit exists but has no such file.
    NoFile,
    /// The commit is not in the checkout (a shallow clone).
    NoCommit,
}

/// The file at `path` in commit `sha`, read with git from the checkout.
///
/// The runner checks out the merge commit; `actions/checkout` with `fetch-depth: 2` also brings
/// its parents, the base and head commits. `safe.directory` is set because the workspace is
/// owned by another user inside the container (actions/runner#2033).
fn git_show(workspace: &Path, sha: &str, path: &str) -> Result<GitRead, String> {
    if !sha.bytes().all(|b| b.is_ascii_hexdigit()) || sha.is_empty() {
        return Err(format!("`{sha}` is not a commit id"));
    }
    let has_commit = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "cat-file", "-e"])
        .arg(format!("{sha}^{{commit}}"))
        .current_dir(workspace)
        .output();
    let has_commit = match has_commit {
        Ok(output) => output,
        // The action's image has no git; the contents API then serves every version.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(GitRead::NoCommit),
        Err(e) => return Err(format!("cannot run git in `{}`: {e}", workspace.display())),
    };
    if !has_commit.status.success() {
        return Ok(GitRead::NoCommit);
    }
    let shown = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "show"])
        .arg(format!("{sha}:{path}"))
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !shown.status.success() {
        return Ok(GitRead::NoFile);
    }
    String::from_utf8(shown.stdout)
        .map(GitRead::File)
        .map_err(|_| format!("`{path}` at {sha} is not UTF-8 text"))
}
