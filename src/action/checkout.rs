//! Reading files at the pull request's commits: from git when the checkout has them, else from
//! the GitHub API (the action's image has no git, and a shallow checkout lacks the commits).

use crate::github::api::{ChangedFile, Repository};
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
    if !has_commit(workspace, sha)? {
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

/// The files a pull request changes between `base` and `head`: from git when the checkout has
/// both commits, else from the pull request files API (which needs the PR `number`).
pub(super) fn changed_files(
    runtime: &tokio::runtime::Runtime,
    workspace: &Path,
    api: Option<&Repository>,
    base: &str,
    head: &str,
    number: Option<u64>,
) -> Result<Vec<ChangedFile>, String> {
    if has_commit(workspace, base)? && has_commit(workspace, head)? {
        return git_changed_files(workspace, base, head);
    }
    match (api, number) {
        (Some(api), Some(number)) => runtime
            .block_on(api.pull_request_files(number))
            .map_err(|e| format!("cannot list the files of pull request #{number}: {e}")),
        (None, _) => Err(format!(
            "commits {base} and {head} are not both in the checkout at `{}`, and no repository is set to ask GitHub which files changed; check out with `fetch-depth: 2` (or 0)",
            workspace.display()
        )),
        (Some(_), None) => Err(format!(
            "commits {base} and {head} are not both in the checkout at `{}`, and the event payload has no `pull_request.number` to ask GitHub which files changed",
            workspace.display()
        )),
    }
}

/// Whether the checkout has commit `sha`; `false` also when there is no git at all.
fn has_commit(workspace: &Path, sha: &str) -> Result<bool, String> {
    if sha.is_empty() || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{sha}` is not a commit id"));
    }
    let output = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "cat-file", "-e"])
        .arg(format!("{sha}^{{commit}}"))
        .current_dir(workspace)
        .output();
    match output {
        Ok(output) => Ok(output.status.success()),
        // The action's image has no git; the API then serves everything.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot run git in `{}`: {e}", workspace.display())),
    }
}

fn git_changed_files(workspace: &Path, base: &str, head: &str) -> Result<Vec<ChangedFile>, String> {
    let output = std::process::Command::new("git")
        .args([
            "-c",
            "safe.directory=*",
            "diff",
            "--name-status",
            "-z",
            "-M",
        ])
        .args([base, head])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git could not compare {base} with {head}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse_name_status(&output.stdout).ok_or_else(|| {
        format!(
            "git listed the changes between {base} and {head} in a form this version cannot read"
        )
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
