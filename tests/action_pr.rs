//! `qci-mirror action` as the runner runs it: a real git checkout of a merge commit whose lines
//! differ from the PR head, an event payload, and the runner's output and summary files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const CONFIG: &str = "core-services/image-mirroring/_config.yaml";

fn git(dir: &Path, args: &[&str]) -> String {
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

fn commit_config(dir: &Path, text: &str, message: &str) -> String {
    let path = dir.join(CONFIG);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

const BASE: &str = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  ci/old-hub:v1:
    image: nginx:1.25
";

/// The base branch moved on after the PR branched: three comment lines shift every line of the
/// merge commit, so only head-commit line numbers point at the right text.
const BASE_MOVED_ON: &str = "\
# Mirrored into quay.io/openshift/ci.
# See the README for the rules.
#
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  ci/old-hub:v1:
    image: nginx:1.25
";

struct Pr {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    event_path: PathBuf,
    output: PathBuf,
    summary: PathBuf,
    head_sha: String,
}

/// A repository with `main` (base, then moved on), a PR branch with `head_text`, and the merge
/// commit checked out, as `actions/checkout` leaves it for `pull_request`.
fn pull_request(head_text: &str, fork: bool) -> Pr {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    git(&workspace, &["init", "-q"]);
    commit_config(&workspace, BASE, "base");
    git(&workspace, &["checkout", "-q", "-b", "pr"]);
    let head_sha = commit_config(&workspace, head_text, "the pull request");
    git(&workspace, &["checkout", "-q", "main"]);
    let base_sha = commit_config(&workspace, BASE_MOVED_ON, "main moves on");
    git(&workspace, &["checkout", "-q", "--detach", &base_sha]);
    git(&workspace, &["merge", "-q", "--no-edit", "pr"]);
    let merged = std::fs::read_to_string(workspace.join(CONFIG)).unwrap();
    assert!(
        merged.starts_with("# Mirrored"),
        "the merge keeps main's lines:\n{merged}"
    );

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
        _dir: dir,
    }
}

fn env(pr: &Pr, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", pr.event_path.to_str().unwrap()),
        ("GITHUB_WORKSPACE", pr.workspace.to_str().unwrap()),
        ("GITHUB_OUTPUT", pr.output.to_str().unwrap()),
        ("GITHUB_STEP_SUMMARY", pr.summary.to_str().unwrap()),
        ("GITHUB_REPOSITORY", "openshift/release"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        // Unset inputs arrive as empty strings.
        ("QCI_CONFIG_PATH", ""),
        ("QCI_FAIL_ON", ""),
        ("QCI_TARGET_REPOSITORY", ""),
        ("QCI_ISTAG_REGISTRY", ""),
        ("QCI_GITHUB_TOKEN", "ghs_secret-token-value"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

fn run(env: &HashMap<String, String>) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = qci_mirror::action::run(env, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn annotations(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| {
            l.starts_with("::error ") || l.starts_with("::warning ") || l.starts_with("::notice ")
        })
        .collect()
}

const HEAD_WITH_PROBLEMS: &str = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v2
  ci/new-hub:v1:
    image: docker.io/library/busybox:1.36
  ci/old-hub:v1:
    image: nginx:1.25
  ci/new-ok:v1:
    image: quay.io/org/new:v1
";

#[test]
fn problems_in_changed_entries_fail_on_the_head_lines_and_old_ones_only_warn() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, false);
    let (code, stdout, stderr) = run(&env(&pr, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(stderr, "");
    assert!(
        stdout.starts_with("::add-mask::ghs_secret-token-value\n"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("ghs_secret-token-value").count(),
        1,
        "the token appears only in its mask"
    );

    let found = annotations(&stdout);
    assert_eq!(found.len(), 2, "{stdout}");
    // Line 5 of the PR head, not line 8 of the merge commit.
    assert!(
        found[0].starts_with(&format!(
            "::error file={CONFIG},line=5,endLine=5,col=12,endColumn=42,title=qci-mirror%3A docker-hub-source::`docker.io/library/busybox:1.36` is on Docker Hub"
        )),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with(&format!(
            "::warning file={CONFIG},line=7,endLine=7,col=12,endColumn=22,title=qci-mirror%3A docker-hub-source::`nginx:1.25` names no registry"
        )),
        "{}",
        found[1]
    );
    assert!(
        found[1].ends_with("not changed by the pull request)"),
        "{}",
        found[1]
    );

    let outputs = std::fs::read_to_string(&pr.output).unwrap();
    assert!(outputs.contains("errors=2\n"), "{outputs}");
    assert!(outputs.contains("warnings=0\n"), "{outputs}");
    assert!(
        outputs.contains(
            "changed-targets=[\"quay.io/openshift/ci:ci_a_v1\",\"quay.io/openshift/ci:ci_new-hub_v1\",\"quay.io/openshift/ci:ci_new-ok_v1\"]\n"
        ),
        "{outputs}"
    );
    let summary = std::fs::read_to_string(&pr.summary).unwrap();
    assert!(
        summary.contains(&format!(
            "https://github.com/openshift/release/blob/{}/{CONFIG}#L5",
            pr.head_sha
        )),
        "{summary}"
    );
    assert!(summary.contains("quay.io/org/new:v1"), "{summary}");
    assert!(!summary.contains("ghs_secret"), "{summary}");
}

#[test]
fn a_clean_pull_request_passes_and_lists_what_will_be_mirrored() {
    let head = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  ci/old-hub:v1:
    image: nginx:1.25
  ci/tool:v2:
    namespace: ci
    name: tool
    tag: \"2.0\"
";
    let pr = pull_request(head, true);
    let (code, stdout, stderr) = run(&env(&pr, &[]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The untouched Docker Hub entry is still reported, as a warning.
    assert_eq!(annotations(&stdout).len(), 1);
    let outputs = std::fs::read_to_string(&pr.output).unwrap();
    assert!(
        outputs.contains("changed-targets=[\"quay.io/openshift/ci:ci_tool_v2\"]\n"),
        "{outputs}"
    );
    let summary = std::fs::read_to_string(&pr.summary).unwrap();
    assert!(
        summary.contains("registry.ci.openshift.org/ci/tool:2.0"),
        "{summary}"
    );
}

#[test]
fn fail_on_all_and_never() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, false);
    let (code, stdout, _) = run(&env(&pr, &[("QCI_FAIL_ON", "all")]));
    assert_eq!(code, 1);
    assert_eq!(
        annotations(&stdout)
            .iter()
            .filter(|a| a.starts_with("::error"))
            .count(),
        2
    );
    let (code, stdout, _) = run(&env(&pr, &[("QCI_FAIL_ON", "never")]));
    assert_eq!(code, 0);
    assert!(
        annotations(&stdout)
            .iter()
            .all(|a| a.starts_with("::warning"))
    );
    let (code, _, stderr) = run(&env(&pr, &[("QCI_FAIL_ON", "sometimes")]));
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid fail_on `sometimes`"), "{stderr}");
}

#[test]
fn config_text_cannot_issue_workflow_commands() {
    let head = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  ci/evil:v1:
    image: \"::stop-commands::pwned\"
  ci/legacy:v1:
    image: \"##[error]pwned\"
";
    let pr = pull_request(head, true);
    let (code, stdout, _) = run(&env(&pr, &[]));
    assert_eq!(code, 1);
    let mut fenced = false;
    let mut token = String::new();
    for line in stdout.lines() {
        if let Some(t) = line.strip_prefix("::stop-commands::") {
            fenced = true;
            token = format!("::{t}::");
            continue;
        }
        if fenced {
            fenced = line != token;
            continue;
        }
        // Outside the fence, every line is one of our own, well-formed commands (the runner
        // then never falls back to its legacy `##[` parser) or our one-line result.
        let ours = [
            "::add-mask::",
            "::error file=",
            "::warning file=",
            "::notice title=",
        ];
        assert!(
            ours.iter().any(|p| line.starts_with(p)) || line.starts_with("qci-mirror: "),
            "{line}"
        );
    }
    assert!(!token.is_empty());
    // The value is still reported, escaped inside an annotation.
    assert!(
        stdout.contains("title=qci-mirror%3A invalid-image-reference::`::stop-commands::pwned`")
    );
}

#[test]
fn other_events_never_mirror_and_say_so() {
    let pr = pull_request(BASE, false);
    for event in ["push", "schedule", "workflow_dispatch"] {
        let (code, stdout, _) = run(&env(&pr, &[("GITHUB_EVENT_NAME", event)]));
        assert_eq!(code, 0);
        assert!(
            stdout.contains(&format!("the `{event}` event will mirror")),
            "{stdout}"
        );
    }
    let (code, _, stderr) = run(&env(&pr, &[("GITHUB_EVENT_NAME", "")]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("use `qci-mirror validate` elsewhere"),
        "{stderr}"
    );
}

#[test]
fn a_shallow_checkout_is_a_clear_error() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, false);
    let mut event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pr.event_path).unwrap()).unwrap();
    event["pull_request"]["base"]["sha"] = "0123456789abcdef0123456789abcdef01234567".into();
    std::fs::write(&pr.event_path, serde_json::to_vec(&event).unwrap()).unwrap();
    let (code, _, stderr) = run(&env(&pr, &[]));
    assert_eq!(code, 2);
    assert!(stderr.contains("fetch-depth: 2"), "{stderr}");
}
