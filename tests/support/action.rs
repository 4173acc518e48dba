//! `qci-mirror action` on a pull request as the runner runs it: a real git checkout of the merge
//! commit, an event payload, the runner's output and summary files, and a mock GitHub API that
//! serves that repository's commits the way GitHub does. The action is given no `PATH`, so, as
//! in its image, it has no git and reads every commit through the API: the production path.

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

    /// Serves the git repository at `workspace` as GitHub's API does: file contents at a commit
    /// (`GET /repos/{owner}/{repo}/contents/{path}?ref={sha}`) and, when `pull` is given, the
    /// files that pull request changes. Mounted last in priority, so a test's own mocks win.
    pub fn serve_repository(&self, workspace: &Path, pull: Option<PullFiles>) {
        self.mount(
            Mock::given(method("GET"))
                .respond_with(RepositoryApi {
                    workspace: workspace.to_path_buf(),
                    pull,
                })
                .with_priority(200),
        );
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

/// A pull request the mock API lists the files of: GitHub compares `head` with its merge base
/// with `base`.
#[derive(Clone)]
pub struct PullFiles {
    pub number: u64,
    pub base: String,
    pub head: String,
}

/// The contents and pull request files APIs over a real git repository.
struct RepositoryApi {
    workspace: PathBuf,
    pull: Option<PullFiles>,
}

impl wiremock::Respond for RepositoryApi {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let not_found = ResponseTemplate::new(404).set_body_json(
            serde_json::json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
        );
        let path = percent_decode(request.url.path());
        // GitHub Enterprise serves the same routes under /api/v3.
        let path = path.strip_prefix("/api/v3").unwrap_or(&path);
        let Some(route) = path.strip_prefix("/repos/openshift/release/") else {
            return not_found;
        };
        if let Some(file) = route.strip_prefix("contents/") {
            let Some((_, sha)) = request.url.query_pairs().find(|(k, _)| k == "ref") else {
                return not_found;
            };
            let shown = Command::new("git")
                .args(["show", &format!("{sha}:{file}")])
                .current_dir(&self.workspace)
                .output()
                .unwrap();
            if !shown.status.success() {
                return not_found;
            }
            return FileAnswer::new(file, &shown.stdout).respond(request);
        }
        // The compare API (three dots: from the merge base), as a merge group is listed.
        if let Some((base, head)) = route
            .strip_prefix("compare/")
            .and_then(|range| range.split_once("..."))
        {
            let merge_base = git(&self.workspace, &["merge-base", base, head]);
            let listed = git(
                &self.workspace,
                &["diff", "--name-status", "-z", "-M", &merge_base, head],
            );
            return ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"status": "ahead", "files": files_json(&listed)}),
            );
        }
        match &self.pull {
            Some(pull) if route == format!("pulls/{}/files", pull.number) => {
                let merge_base = git(&self.workspace, &["merge-base", &pull.base, &pull.head]);
                let listed = git(
                    &self.workspace,
                    &["diff", "--name-status", "-z", "-M", &merge_base, &pull.head],
                );
                ResponseTemplate::new(200).set_body_json(files_json(&listed))
            }
            _ => not_found,
        }
    }
}

/// The contents API's answer for a file, in the form the request's `Accept` header asks for:
/// the raw bytes for GitHub's raw media type, else the JSON object.
pub struct FileAnswer {
    path: String,
    bytes: Vec<u8>,
}

impl FileAnswer {
    pub fn new(path: &str, bytes: &[u8]) -> Self {
        FileAnswer {
            path: path.to_owned(),
            bytes: bytes.to_vec(),
        }
    }
}

impl wiremock::Respond for FileAnswer {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let raw = request
            .headers
            .get("accept")
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("application/vnd.github.raw"));
        if raw {
            ResponseTemplate::new(200).set_body_raw(self.bytes.clone(), "text/plain; charset=utf-8")
        } else {
            ResponseTemplate::new(200).set_body_json(content_json(&self.path, &self.bytes))
        }
    }
}

/// A contents API answer in its JSON form, as GitHub sends it: base64 in lines of 60, or, past
/// 1 MB, no content at all (`encoding: none`), as GitHub documents.
pub fn content_json(path: &str, bytes: &[u8]) -> serde_json::Value {
    use base64::Engine;
    let name = path.rsplit('/').next().unwrap_or(path);
    if bytes.len() > 1_000_000 {
        return serde_json::json!({
            "name": name, "path": path, "sha": "0000000000000000000000000000000000000000",
            "size": bytes.len(), "url": "http://api.invalid/x", "html_url": null,
            "git_url": null, "download_url": null, "type": "file", "encoding": "none",
            "content": "",
            "_links": {"self": "http://api.invalid/x", "git": null, "html": null},
        });
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let wrapped: Vec<&str> = encoded
        .as_bytes()
        .chunks(60)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    serde_json::json!({
        "name": name, "path": path, "sha": "0000000000000000000000000000000000000000",
        "size": bytes.len(), "url": "http://api.invalid/x", "html_url": null, "git_url": null,
        "download_url": null, "type": "file", "encoding": "base64",
        "content": wrapped.join("\n") + "\n",
        "_links": {"self": "http://api.invalid/x", "git": null, "html": null},
    })
}

/// `git diff --name-status -M` lines as a pull request files API page.
/// The files API's list from `git diff --name-status -z` (NUL-separated, so any file name
/// survives): a status, then a path, or the old and new paths of a rename.
fn files_json(listed: &str) -> serde_json::Value {
    let mut fields = listed.split('\0').filter(|f| !f.is_empty());
    let mut files = Vec::new();
    while let Some(status) = fields.next() {
        let first = fields.next().unwrap();
        let (status, path, previous) = match status.chars().next().unwrap() {
            'R' => ("renamed", fields.next().unwrap(), Some(first)),
            'A' => ("added", first, None),
            'D' => ("removed", first, None),
            _ => ("modified", first, None),
        };
        let mut file = serde_json::json!({
            "sha": "0000", "filename": path, "status": status, "additions": 1,
            "deletions": 0, "changes": 1, "blob_url": null, "raw_url": null,
            "contents_url": "http://api.invalid/c",
        });
        if let Some(previous) = previous {
            file["previous_filename"] = previous.into();
        }
        files.push(file);
    }
    serde_json::Value::Array(files)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    /// The base commit (`main` when the pull request was last synchronized).
    pub base_sha: String,
    /// The PR's head commit.
    pub head_sha: String,
    /// The merge commit checked out (`GITHUB_SHA`).
    pub merge_sha: String,
}

impl Pr {
    /// Its files, as the mock API lists them (the event payload's number, 7).
    pub fn files(&self) -> PullFiles {
        PullFiles {
            number: 7,
            base: self.base_sha.clone(),
            head: self.head_sha.clone(),
        }
    }
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
        base_sha,
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
    let (out, err) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    let secrets = extra
        .iter()
        .filter(|(name, _)| SECRET_VARIABLES.contains(name))
        .map(|(_, value)| *value)
        .chain(["ghs_token"]);
    super::runner::assert_only_intended(&format!("{out}\n{err}"), secrets);
    (output.status.code(), out, err)
}

/// The runner's environment for `pr` inside GitHub Actions, with `extra` variables on top
/// (inputs left unset arrive as empty strings), and `api` serving the pull request's
/// repository. There is no `PATH`, so no git: add one to test the local git convenience.
pub fn env(pr: &Pr, api: &Api, extra: &[(&str, &str)]) -> HashMap<String, String> {
    api.serve_repository(&pr.workspace, Some(pr.files()));
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
        ("QCI_QCI_PULL_REGISTRY", ""),
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
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    // Auth files hold secrets too: their passwords are masked.
    let auth_files: Vec<String> = ["REGISTRY_AUTH_FILE", "DOCKER_CONFIG"]
        .iter()
        .filter_map(|name| env.get(*name))
        .map(|path| {
            let path = std::path::Path::new(path);
            let file = if path.is_dir() {
                path.join("config.json")
            } else {
                path.to_path_buf()
            };
            std::fs::read_to_string(file).unwrap_or_default()
        })
        .collect();
    let secrets = SECRET_VARIABLES
        .iter()
        .filter_map(|name| env.get(*name).map(String::as_str))
        .chain(auth_files.iter().map(String::as_str));
    super::runner::assert_only_intended(&format!("{out}\n{err}"), secrets);
    (code, out, err)
}

/// The variables whose values the action may mask.
pub const SECRET_VARIABLES: [&str; 6] = [
    "QCI_GITHUB_TOKEN",
    "QCI_REGISTRY_AUTH",
    "QCI_TARGET_TOKEN",
    "QCI_TARGET_PASSWORD",
    "QCI_APP_CI_TOKEN",
    "QCI_APP_CI_PASSWORD",
];

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
                    .map(super::runner::unescape_property)
            };
            Some(Annotation {
                level: level.to_owned(),
                file: property("file"),
                line: property("line").and_then(|l| l.parse().ok()),
                code: property("title")
                    .and_then(|t| t.strip_prefix("qci-mirror: ").map(str::to_owned))
                    .unwrap_or_default(),
                message: super::runner::unescape_property(message),
            })
        })
        .collect()
}

/// The Checks API as GitHub documents its limits: at most 50 annotations per request, a name
/// and titles of at most 255 characters, messages of at most 64 KiB, summary and text of at
/// most 65,535 characters; anything over is refused with 422, as GitHub does.
pub struct ChecksApi {
    /// The check run GitHub answers with.
    pub check_run: serde_json::Value,
}

impl ChecksApi {
    /// Answers for check run `id` on `head_sha`.
    pub fn new(id: u64, head_sha: &str) -> Self {
        ChecksApi {
            check_run: serde_json::json!({
                "id": id, "node_id": "CR_1", "head_sha": head_sha, "url": "http://api.invalid/cr",
                "html_url": null, "details_url": null, "conclusion": "failure", "name": "qci-mirror",
                "started_at": null, "completed_at": null, "pull_requests": [],
                "output": {"title": null, "summary": null, "text": null, "annotations_count": 0, "annotations_url": "http://api.invalid/a"},
            }),
        }
    }

    /// What is over GitHub's limits in a check run request, if anything.
    pub fn refusal(body: &serde_json::Value) -> Option<String> {
        let chars = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
        if chars(&body["name"]) > 255 {
            return Some("name is too long".into());
        }
        let output = &body["output"];
        if chars(&output["title"]) > 255 {
            return Some("output.title is too long".into());
        }
        for field in ["summary", "text"] {
            if chars(&output[field]) > 65_535 {
                return Some(format!(
                    "output.{field} is too long (maximum is 65535 characters)"
                ));
            }
        }
        let annotations = output["annotations"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        if annotations.len() > 50 {
            return Some(format!(
                "No more than 50 items are allowed; {} were supplied.",
                annotations.len()
            ));
        }
        for annotation in annotations {
            if annotation["message"].as_str().map_or(0, str::len) > 64 * 1024 {
                return Some("annotation message is too long (maximum is 64 KB)".into());
            }
            if chars(&annotation["title"]) > 255 || chars(&annotation["raw_details"]) > 64 * 1024 {
                return Some("annotation title or raw_details is too long".into());
            }
        }
        None
    }
}

impl wiremock::Respond for ChecksApi {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        if let Some(problem) = Self::refusal(&body) {
            return ResponseTemplate::new(422).set_body_json(serde_json::json!({
                "message": "Invalid request.\n\n".to_owned() + &problem,
                "documentation_url": "https://docs.github.com/rest/checks/runs",
            }));
        }
        let status = if request.method == wiremock::http::Method::POST {
            201
        } else {
            200
        };
        ResponseTemplate::new(status).set_body_json(&self.check_run)
    }
}
