//! `qci-mirror action` on a pull request as the runner runs it: a real git checkout of the merge
//! commit, an event payload, the runner's output and summary files, and a mock GitHub API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Where openshift/release keeps the config.
pub const CONFIG: &str = "core-services/image-mirroring/_config.yaml";

/// A mock GitHub API. It runs on its own runtime because the action builds its own.
pub struct Api {
    runtime: tokio::runtime::Runtime,
    /// The server; mount mocks on it through [`Api::runtime`].
    pub server: MockServer,
}

impl Api {
    /// A server with no mocks: every request gets a 404.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(MockServer::start());
        Api { runtime, server }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<wiremock::Request> {
        self.runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default()
    }

    /// Adds a mock.
    pub fn mount(&self, mock: Mock) {
        self.runtime.block_on(mock.mount(&self.server));
    }

    /// A fork's read-only token: every write is refused, as GitHub does.
    pub fn read_only(&self) {
        self.mount(Mock::given(method("POST")).respond_with(
            ResponseTemplate::new(403).set_body_json(
                serde_json::json!({"message": "Resource not accessible by integration"}),
            ),
        ));
    }
}

/// Runs git in `dir`; a failure fails the test.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A pull request checked out as `actions/checkout` leaves it, with the runner's files.
pub struct Pr {
    _dir: tempfile::TempDir,
    /// The checkout (the merge commit).
    pub workspace: PathBuf,
    /// The `pull_request` event payload.
    pub event_path: PathBuf,
    /// `GITHUB_OUTPUT`.
    pub output: PathBuf,
    /// `GITHUB_STEP_SUMMARY`.
    pub summary: PathBuf,
    /// The PR's head commit.
    pub head_sha: String,
    /// The merge commit checked out (`GITHUB_SHA`).
    pub merge_sha: String,
}

/// Writes (or, for `None`, deletes) `files` in `dir` and commits; returns the commit.
pub fn write_files(dir: &Path, files: &[(&str, Option<&str>)], message: &str) -> String {
    for (path, text) in files {
        let path = dir.join(path);
        match text {
            Some(text) => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            None => std::fs::remove_file(path).unwrap(),
        }
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// `main` with the config `base`, a PR branch (from a fork or not) changing it to `head`, and
/// the merge commit checked out.
pub fn pull_request(base: &str, head: &str, fork: bool) -> Pr {
    pull_request_of_files(&[(CONFIG, base)], &[(CONFIG, Some(head))], &[], fork)
}

/// `main` with `base`, a PR branch that writes (or, for `None`, deletes) the `head` files, `main`
/// moving on with `moved_on`, and the merge commit checked out.
pub fn pull_request_of_files<'a>(
    base: &[(&'a str, &'a str)],
    head: &[(&str, Option<&str>)],
    moved_on: &[(&'a str, &'a str)],
    fork: bool,
) -> Pr {
    let written = |files: &[(&'a str, &'a str)]| -> Vec<(&'a str, Option<&'a str>)> {
        files.iter().map(|&(p, t)| (p, Some(t))).collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    git(&workspace, &["init", "-q"]);
    write_files(&workspace, &written(base), "base");
    git(&workspace, &["checkout", "-q", "-b", "pr"]);
    let head_sha = write_files(&workspace, head, "the pull request");
    git(&workspace, &["checkout", "-q", "main"]);
    let base_sha = write_files(&workspace, &written(moved_on), "main moves on");
    git(&workspace, &["checkout", "-q", "--detach", &base_sha]);
    git(&workspace, &["merge", "-q", "--no-edit", "pr"]);
    let merge_sha = git(&workspace, &["rev-parse", "HEAD"]);

    let head_repo = if fork {
        "someone/release"
    } else {
        "openshift/release"
    };
    let event = serde_json::json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"sha": base_sha, "ref": "main", "repo": {"full_name": "openshift/release"}},
            "head": {"sha": head_sha, "ref": "pr", "repo": {"full_name": head_repo}},
        },
        "repository": {"full_name": "openshift/release"},
    });
    let event_path = dir.path().join("event.json");
    std::fs::write(&event_path, serde_json::to_vec_pretty(&event).unwrap()).unwrap();
    Pr {
        output: dir.path().join("output"),
        summary: dir.path().join("summary.md"),
        workspace,
        event_path,
        head_sha,
        merge_sha,
        _dir: dir,
    }
}

/// Runs the real binary as the action's image would: no git on an empty `PATH`, an empty
/// workspace, only the variables given. Returns (exit code, stdout, stderr).
pub fn run_without_git(
    event_path: &Path,
    workspace: &Path,
    api: &Api,
    extra: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_qci-mirror"))
        .arg("action")
        .env_clear()
        .env("PATH", "")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", event_path)
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_REPOSITORY", "openshift/release")
        .env("GITHUB_API_URL", api.server.uri())
        .env("QCI_GITHUB_TOKEN", "ghs_token")
        .envs(extra.iter().copied())
        .current_dir(workspace)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The runner's environment for `pr` inside GitHub Actions, with `extra` variables on top
/// (inputs left unset arrive as empty strings).
pub fn env(pr: &Pr, api: &Api, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let api_url = api.server.uri();
    let mut env: HashMap<String, String> = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_API_URL", api_url.as_str()),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", pr.event_path.to_str().unwrap()),
        ("GITHUB_SHA", pr.merge_sha.as_str()),
        ("GITHUB_WORKSPACE", pr.workspace.to_str().unwrap()),
        ("GITHUB_OUTPUT", pr.output.to_str().unwrap()),
        ("GITHUB_STEP_SUMMARY", pr.summary.to_str().unwrap()),
        ("GITHUB_REPOSITORY", "openshift/release"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("QCI_CONFIG_PATH", ""),
        ("QCI_FAIL_ON", ""),
        ("QCI_TARGET_REPOSITORY", ""),
        ("QCI_ISTAG_REGISTRY", ""),
        ("QCI_GITHUB_TOKEN", "ghs_secret-token-value"),
        ("QCI_NETWORK_CHECKS", ""),
        ("QCI_PLAIN_HTTP", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

/// Runs the action in-process; returns (exit code, stdout, stderr).
pub fn run_action(env: &HashMap<String, String>) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = qci_mirror::action::run(env, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// One workflow-command annotation, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// `error`, `warning` or `notice`.
    pub level: String,
    /// The file, when the annotation has one.
    pub file: Option<String>,
    /// The 1-based line, when it has one.
    pub line: Option<u32>,
    /// The diagnostic code from the title (`qci-mirror: CODE`).
    pub code: String,
    /// The message as the runner shows it (escapes undone).
    pub message: String,
}

/// Every annotation in `stdout`, in order.
pub fn annotations(stdout: &str) -> Vec<Annotation> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("::")?;
            let (level, rest) = rest.split_once(' ')?;
            if !["error", "warning", "notice"].contains(&level) {
                return None;
            }
            let (properties, message) = rest.split_once("::")?;
            let property = |name: &str| {
                properties
                    .split(',')
                    .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
                    .map(unescape)
            };
            Some(Annotation {
                level: level.to_owned(),
                file: property("file"),
                line: property("line").and_then(|l| l.parse().ok()),
                code: property("title")
                    .and_then(|t| t.strip_prefix("qci-mirror: ").map(str::to_owned))
                    .unwrap_or_default(),
                message: unescape(message),
            })
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}
