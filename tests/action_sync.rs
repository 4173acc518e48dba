//! `qci-mirror action` on the events that mirror, end to end: a real git repository served by a
//! mock GitHub API (the action gets no git, as in its image), the event payloads GitHub sends,
//! real registries on loopback, and what the runner would show (log, annotations, job summary,
//! outputs), with every target digest read back with skopeo.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::action::{Api, CONFIG, FileAnswer, annotations, git, run_action};
use support::registry::{LocalRegistry, push_image, served_digest};

/// A checkout of `main`, the runner's files, the GitHub API serving the repository, and the two
/// registries.
struct Repo {
    dir: tempfile::TempDir,
    workspace: PathBuf,
    api: Api,
    source: LocalRegistry,
    target: LocalRegistry,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("workspace");
        std::fs::create_dir_all(workspace.join(CONFIG).parent().unwrap()).unwrap();
        git(&workspace, &["init", "-q"]);
        let api = Api::start();
        api.serve_repository(&workspace, None);
        Repo {
            dir,
            workspace,
            api,
            source: LocalRegistry::start(),
            target: LocalRegistry::start(),
        }
    }

    /// Commits a config of `(key, source repository:tag)` entries; returns the commit.
    fn commit(&self, entries: &[(&str, &str)]) -> String {
        let mut text = String::from("supplementalCIImages:\n");
        for (key, source) in entries {
            text.push_str(&format!(
                "  {key}:\n    image: {}/{source}\n",
                self.source.addr
            ));
        }
        self.commit_text(&text)
    }

    /// Commits `text` as the config; returns the commit.
    fn commit_text(&self, text: &str) -> String {
        std::fs::write(self.workspace.join(CONFIG), text).unwrap();
        git(&self.workspace, &["add", "-A"]);
        git(
            &self.workspace,
            &["commit", "-q", "--allow-empty", "-m", "config"],
        );
        git(&self.workspace, &["rev-parse", "HEAD"])
    }

    fn target_ref(&self, tag: &str) -> String {
        format!("{}/openshift/ci:{tag}", self.target.addr)
    }

    /// The target's tags, listed by skopeo.
    fn target_tags(&self) -> HashSet<String> {
        let output = Command::new("skopeo")
            .args(["list-tags", "--tls-verify=false"])
            .arg(format!("docker://{}/openshift/ci", self.target.addr))
            .output()
            .expect("skopeo must be installed");
        if !output.status.success() {
            // A repository nothing was pushed to does not exist yet.
            return HashSet::new();
        }
        let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        listed["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    }

    /// Runs the action for `event` with `payload`; returns (exit code, log, outputs, summary).
    fn run(
        &self,
        event: &str,
        payload: &serde_json::Value,
        extra: &[(&str, &str)],
    ) -> (u8, String, String, String) {
        let event_path = self.dir.path().join("event.json");
        std::fs::write(&event_path, serde_json::to_vec(payload).unwrap()).unwrap();
        let (output, summary) = (
            self.dir.path().join("output"),
            self.dir.path().join("summary.md"),
        );
        let _ = std::fs::remove_file(&output);
        let _ = std::fs::remove_file(&summary);
        let plain_http = format!("{} {}", self.source.addr, self.target.addr);
        let target_repository = format!("{}/openshift/ci", self.target.addr);
        let api_url = self.api.server.uri();
        let mut env: HashMap<String, String> = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_EVENT_PATH", event_path.to_str().unwrap()),
            ("GITHUB_WORKSPACE", self.workspace.to_str().unwrap()),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_REPOSITORY", "openshift/release"),
            ("GITHUB_API_URL", api_url.as_str()),
            ("QCI_GITHUB_TOKEN", "ghs_push-token"),
            ("QCI_CONFIG_PATH", ""),
            ("QCI_TARGET_REPOSITORY", target_repository.as_str()),
            ("QCI_PLAIN_HTTP", plain_http.as_str()),
            ("QCI_NETWORK_CHECKS", "false"),
            ("QCI_SHARD", ""),
            ("QCI_BACKUP", ""),
            ("QCI_TARGETS", ""),
            ("QCI_MIRROR_ANY_BRANCH", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let (code, out, err) = run_action(&env);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (code, out + &err, read(&output), read(&summary))
    }
}

/// A `workflow_dispatch` run on `branch` of a repository whose default branch is `main`.
fn dispatch_payload(branch: &str) -> serde_json::Value {
    serde_json::json!({
        "inputs": {},
        "ref": format!("refs/heads/{branch}"),
        "repository": {"full_name": "openshift/release", "default_branch": "main"},
    })
}

fn push_payload(before: &str, after: &str, branch: &str) -> serde_json::Value {
    serde_json::json!({
        "ref": format!("refs/heads/{branch}"),
        "before": before,
        "after": after,
        "deleted": false,
        "repository": {"full_name": "openshift/release", "default_branch": "main"},
    })
}

/// The `mirrored` output: targets copied.
fn mirrored(outputs: &str) -> Vec<String> {
    let line = outputs
        .lines()
        .find_map(|l| l.strip_prefix("mirrored="))
        .unwrap_or_else(|| panic!("no mirrored output: {outputs}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_push_to_main_mirrors_only_what_it_changes_and_backs_up_what_it_moves() {
    let repo = Repo::new();
    let a1 = push_image(&repo.source.addr, "org/a:v1", 1, 1);
    let b1 = push_image(&repo.source.addr, "org/b:v1", 2, 2);
    let b2 = push_image(&repo.source.addr, "org/b:v2", 3, 2);
    let c1 = push_image(&repo.source.addr, "org/c:v1", 4, 1);
    let before = repo.commit(&[("ci/a:v1", "org/a:v1"), ("ci/b:latest", "org/b:v1")]);
    // `ci/b:latest` was mirrored earlier; `ci/a:v1` never was, and the push does not touch it.
    let (code, log, _, _) = repo.run(
        "workflow_dispatch",
        &dispatch_payload("main"),
        &[("QCI_TARGETS", "ci/b:latest")],
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        served_digest(&repo.target.addr, "openshift/ci:ci_b_latest"),
        b1
    );

    let after = repo.commit(&[
        ("ci/a:v1", "org/a:v1"),
        ("ci/b:latest", "org/b:v2"),
        ("ci/c:v1", "org/c:v1"),
    ]);
    // The same change as a pull request: validated elsewhere, never mirrored.
    let (code, log, _, _) = repo.run(
        "pull_request",
        &serde_json::json!({"pull_request": {
            "number": 1,
            "base": {"sha": before, "repo": {"full_name": "openshift/release"}},
            "head": {"sha": after, "repo": {"full_name": "openshift/release"}},
        }}),
        &[],
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        repo.target_tags(),
        HashSet::from(["ci_b_latest".to_owned()])
    );

    let (code, log, outputs, summary) =
        repo.run("push", &push_payload(&before, &after, "main"), &[]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(&format!("changes 2 entries in `{CONFIG}`")),
        "{log}"
    );
    assert_eq!(
        mirrored(&outputs),
        [repo.target_ref("ci_b_latest"), repo.target_ref("ci_c_v1")]
    );
    assert!(outputs.contains("failed=0\n"), "{outputs}");
    assert_eq!(
        served_digest(&repo.target.addr, "openshift/ci:ci_b_latest"),
        b2
    );
    assert_eq!(served_digest(&repo.target.addr, "openshift/ci:ci_c_v1"), c1);
    let tags = repo.target_tags();
    assert!(
        !tags.contains("ci_a_v1"),
        "an untouched entry was mirrored: {tags:?}"
    );
    let backups: Vec<&String> = tags.iter().filter(|t| t.contains("_prune_")).collect();
    assert_eq!(backups.len(), 1, "{tags:?}");
    assert!(backups[0].ends_with("_prune___ci_images_mirror__ci_b_latest"));
    assert_eq!(
        served_digest(&repo.target.addr, &format!("openshift/ci:{}", backups[0])),
        b1
    );
    assert!(summary.contains("2 entries: 2 copied"), "{summary}");
    // The summary escapes Markdown's `_`.
    assert!(
        summary.contains(&format!("kept as {}", backups[0].replace('_', "&#95;"))),
        "{summary}"
    );
    assert!(log.contains("::group::Mirroring into"), "{log}");

    // With `backup: false`, a tag moves without a backup: the one from before stays the only one.
    let reverted = repo.commit(&[
        ("ci/a:v1", "org/a:v1"),
        ("ci/b:latest", "org/b:v1"),
        ("ci/c:v1", "org/c:v1"),
    ]);
    let (code, log, _, _) = repo.run(
        "push",
        &push_payload(&after, &reverted, "main"),
        &[("QCI_BACKUP", "false")],
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        served_digest(&repo.target.addr, "openshift/ci:ci_b_latest"),
        b1
    );
    let backups_now: Vec<String> = repo
        .target_tags()
        .into_iter()
        .filter(|t| t.contains("_prune_"))
        .collect();
    assert_eq!(backups_now, [backups[0].clone()]);
    let _ = a1;
}

#[test]
fn pushes_elsewhere_mirror_nothing_and_say_why() {
    let repo = Repo::new();
    push_image(&repo.source.addr, "org/a:v1", 1, 1);
    let before = repo.commit(&[]);
    let after = repo.commit(&[("ci/a:v1", "org/a:v1")]);
    let (code, log, _, _) = repo.run("push", &push_payload(&before, &after, "feature"), &[]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("::notice title=qci-mirror::nothing mirrored: only pushes to the default branch `main` mirror, and this push is to `refs/heads/feature`"),
        "{log}"
    );
    assert!(repo.target_tags().is_empty());
}

#[test]
fn a_failed_entry_is_annotated_on_its_line_and_fails_the_step_alone() {
    let repo = Repo::new();
    let a1 = push_image(&repo.source.addr, "org/a:v1", 1, 1);
    let before = repo.commit(&[]);
    let after = repo.commit(&[("ci/a:v1", "org/a:v1"), ("ci/gone:v1", "org/gone:v1")]);
    let (code, log, outputs, _) = repo.run("push", &push_payload(&before, &after, "main"), &[]);
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains(&format!(
            "::error file={CONFIG},line=4,endLine=4,title=qci-mirror%3A ci/gone%3Av1 not mirrored::{}",
            repo.target_ref("ci_gone_v1")
        )),
        "{log}"
    );
    assert!(
        log.contains("source: the source does not exist (no such repository or tag)"),
        "{log}"
    );
    assert_eq!(served_digest(&repo.target.addr, "openshift/ci:ci_a_v1"), a1);
    assert!(outputs.contains("failed=1\n"), "{outputs}");
}

#[test]
fn a_scheduled_sync_in_shards_covers_every_target_once_then_finds_nothing_to_do() {
    let repo = Repo::new();
    let images: Vec<String> = (0..3)
        .map(|i| push_image(&repo.source.addr, &format!("org/img{i}:v1"), 10 + i, 1))
        .collect();
    let keys: Vec<String> = (0..12).map(|i| format!("ci/tool-{i}:v1")).collect();
    let sources: Vec<String> = (0..12).map(|i| format!("org/img{}:v1", i % 3)).collect();
    let entries: Vec<(&str, &str)> = keys
        .iter()
        .zip(&sources)
        .map(|(k, s)| (k.as_str(), s.as_str()))
        .collect();
    repo.commit(&entries);
    let schedule = serde_json::json!({"schedule": "0 * * * *"});

    let mut seen: Vec<String> = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let (code, log, outputs, summary) =
            repo.run("schedule", &schedule, &[("QCI_SHARD", shard)]);
        assert_eq!(code, 0, "{log}");
        assert!(
            summary.starts_with(&format!("## qci-mirror: mirrored (shard {shard})\n")),
            "{summary}"
        );
        // Each shard looks only at its own entries.
        // The totals line: `3 entries: …`, or `1 entry: …`.
        let looked_at: usize = summary
            .lines()
            .find(|line| line.contains(" entries: ") || line.contains(" entry: "))
            .and_then(|line| line.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{summary}"));
        assert_eq!(looked_at, mirrored(&outputs).len(), "{summary}");
        assert!(looked_at < 12, "{summary}");
        seen.extend(mirrored(&outputs));
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a target was in two shards: {seen:?}"
    );
    assert_eq!(seen.len(), 12, "{seen:?}");
    for (i, key) in keys.iter().enumerate() {
        let tag = key.replacen('/', "_", 1).replacen(':', "_", 1);
        assert_eq!(
            served_digest(&repo.target.addr, &format!("openshift/ci:{tag}")),
            images[i % 3]
        );
    }

    let (code, log, outputs, summary) = repo.run("schedule", &schedule, &[]);
    assert_eq!(code, 0, "{log}");
    assert!(mirrored(&outputs).is_empty(), "{outputs}");
    assert!(
        summary.contains("12 entries: 0 copied, 12 up to date"),
        "{summary}"
    );
}

#[test]
fn a_dispatch_mirrors_the_named_targets_and_refuses_unknown_names() {
    let repo = Repo::new();
    push_image(&repo.source.addr, "org/a:v1", 1, 1);
    push_image(&repo.source.addr, "org/b:v1", 2, 1);
    repo.commit(&[("ci/a:v1", "org/a:v1"), ("ci/b:v1", "org/b:v1")]);
    let dispatch = dispatch_payload("main");
    let (code, log, outputs, _) = repo.run(
        "workflow_dispatch",
        &dispatch,
        &[("QCI_TARGETS", "ci_b_v1")],
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(mirrored(&outputs), [repo.target_ref("ci_b_v1")]);
    assert_eq!(repo.target_tags(), HashSet::from(["ci_b_v1".to_owned()]));

    let (code, log, _, _) = repo.run(
        "workflow_dispatch",
        &dispatch,
        &[("QCI_TARGETS", "ci/a:v1, ci/typo:v1")],
    );
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains(&format!(
            "`targets` names no entry of `{CONFIG}`: `ci/typo:v1`"
        )),
        "{log}"
    );
    assert_eq!(repo.target_tags(), HashSet::from(["ci_b_v1".to_owned()]));
}

#[test]
fn a_push_whose_before_only_github_has_is_read_through_the_contents_api() {
    use wiremock::Mock;
    use wiremock::matchers::{method, path, query_param};

    let repo = Repo::new();
    push_image(&repo.source.addr, "org/a:v1", 1, 1);
    let b1 = push_image(&repo.source.addr, "org/b:v1", 2, 1);
    // `before` is in no local repository at all (a force push, or history GitHub has): only
    // the API knows it.
    let before_text = format!(
        "supplementalCIImages:\n  ci/a:v1:\n    image: {}/org/a:v1\n",
        repo.source.addr
    );
    let after = repo.commit(&[("ci/a:v1", "org/a:v1"), ("ci/b:v1", "org/b:v1")]);
    let before = "0123456789abcdef0123456789abcdef01234567";
    repo.api.mount(
        Mock::given(method("GET"))
            .and(path(format!("/repos/openshift/release/contents/{CONFIG}")))
            .and(query_param("ref", before))
            .respond_with(FileAnswer::new(CONFIG, before_text.as_bytes()))
            .expect(1),
    );
    let (code, log, outputs, _) = repo.run("push", &push_payload(before, &after, "main"), &[]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(mirrored(&outputs), [repo.target_ref("ci_b_v1")]);
    assert_eq!(served_digest(&repo.target.addr, "openshift/ci:ci_b_v1"), b1);
    assert_eq!(repo.target_tags(), HashSet::from(["ci_b_v1".to_owned()]));
    // The token is masked before anything else, and never printed otherwise.
    assert!(log.starts_with("::add-mask::ghs_push-token\n"), "{log}");
    assert_eq!(log.matches("ghs_push-token").count(), 1, "{log}");
    // Both versions came from GitHub, with the token.
    let requests = repo.api.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("authorization").unwrap() == "Bearer ghs_push-token")
    );
}

#[test]
fn config_text_cannot_issue_workflow_commands_while_mirroring() {
    let repo = Repo::new();
    push_image(&repo.source.addr, "org/a:v1", 1, 1);
    let before = repo.commit(&[]);
    std::fs::write(
        repo.workspace.join(CONFIG),
        format!(
            "supplementalCIImages:\n  ci/a:v1:\n    image: {}/org/a:v1\n  \"ci/evil:v1\\n::error::pwned\":\n    image: \"::stop-commands::pwned\"\n  ci/legacy:v1:\n    image: \"##[error]pwned\"\n",
            repo.source.addr
        ),
    )
    .unwrap();
    git(&repo.workspace, &["commit", "-q", "-am", "evil"]);
    let after = git(&repo.workspace, &["rev-parse", "HEAD"]);
    let (code, log, _, _) = repo.run("push", &push_payload(&before, &after, "main"), &[]);
    assert_eq!(code, 1, "{log}");
    // `run` has read the log as the runner does and found only the commands meant; here, no
    // line that is not one of them even looks like a command.
    for line in log.lines() {
        let ours = [
            "::add-mask::",
            "::group::",
            "::endgroup::",
            "::error file=",
            "::stop-commands::qci-mirror-",
            "::qci-mirror-",
        ];
        assert!(
            !line.trim_start().starts_with("::") || ours.iter().any(|p| line.starts_with(p)),
            "{line}\n{log}"
        );
        assert!(!line.contains("##["), "{line}");
    }
    // The good entry is still mirrored; the bad ones are reported, escaped.
    assert!(repo.target_tags().contains("ci_a_v1"));
    assert!(
        log.contains("title=qci-mirror%3A ci/evil%3Av1%0A%3A%3Aerror%3A%3Apwned not mirrored::"),
        "{log}"
    );
}

#[test]
fn secrets_are_masked_before_they_are_parsed_and_parse_errors_never_quote_them() {
    use base64::Engine;
    let repo = Repo::new();
    push_image(&repo.source.addr, "org/a:v1", 1, 1);
    repo.commit(&[("ci/a:v1", "org/a:v1")]);
    let schedule = serde_json::json!({"schedule": "0 * * * *"});
    // An `auths` entry that is the credential itself rather than an object holding it.
    let credential = base64::engine::general_purpose::STANDARD.encode("robot:s3cret-pass");
    let malformed = format!("{{\"auths\":{{\"quay.io\":\"{credential}\"}}}}");
    let (code, log, _, _) = repo.run("schedule", &schedule, &[("QCI_REGISTRY_AUTH", &malformed)]);
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("QCI_REGISTRY_AUTH is not a valid auth file: a value of the wrong kind"),
        "{log}"
    );
    assert!(log.contains("at line 1, column"), "{log}");
    // The value is masked first, and the only line that holds it is the mask.
    let first_mention = log.find(&credential).expect(&log);
    assert!(
        log[..first_mention].ends_with("::add-mask::{\"auths\":{\"quay.io\":\""),
        "{log}"
    );
    assert_eq!(log.matches(&credential).count(), 1, "{log}");

    // A target login: its password, and the base64 `user:password` a basic Authorization
    // header carries, are both masked before anything about registries is printed.
    let (code, log, _, _) = repo.run(
        "schedule",
        &schedule,
        &[
            ("QCI_TARGET_USERNAME", "pusher"),
            ("QCI_TARGET_PASSWORD", "push-pass-4"),
        ],
    );
    assert_eq!(code, 0, "{log}");
    let basic = base64::engine::general_purpose::STANDARD.encode("pusher:push-pass-4");
    let group = log.find("::group::").expect(&log);
    for secret in ["push-pass-4", basic.as_str()] {
        let mask = log.find(&format!("::add-mask::{secret}\n")).expect(&log);
        assert!(mask < group, "{log}");
    }
}

#[test]
fn a_dispatch_on_another_branch_mirrors_only_when_the_input_allows_it() {
    let repo = Repo::new();
    push_image(&repo.source.addr, "org/a:v1", 1, 1);
    repo.commit(&[("ci/a:v1", "org/a:v1")]);
    // The feature branch's config has not been reviewed: by default nothing is copied.
    let (code, log, outputs, _) = repo.run("workflow_dispatch", &dispatch_payload("feature"), &[]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("::notice title=qci-mirror::nothing mirrored: a dispatch mirrors only from the default branch `main`, and this run is on `refs/heads/feature` (set mirror_any_branch: true to allow it)"),
        "{log}"
    );
    assert!(repo.target_tags().is_empty());
    assert!(!outputs.contains("mirrored="), "{outputs}");

    let (code, log, outputs, _) = repo.run(
        "workflow_dispatch",
        &dispatch_payload("feature"),
        &[("QCI_MIRROR_ANY_BRANCH", "true")],
    );
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("mirroring the config of `refs/heads/feature`, not of the default branch `main`, because mirror_any_branch is true"),
        "{log}"
    );
    assert_eq!(mirrored(&outputs), [repo.target_ref("ci_a_v1")]);
}

#[test]
fn a_scheduled_run_reads_only_a_config_file_inside_the_workspace() {
    let repo = Repo::new();
    push_image(&repo.source.addr, "org/a:v1", 1, 1);
    repo.commit(&[("ci/a:v1", "org/a:v1")]);
    let schedule = serde_json::json!({"schedule": "0 * * * *"});
    // A config elsewhere on the machine, and a committed symlink that points at it.
    let outside = tempfile::tempdir().unwrap();
    let elsewhere = outside.path().join("_config.yaml");
    std::fs::copy(repo.workspace.join(CONFIG), &elsewhere).unwrap();
    let link = repo
        .workspace
        .join("core-services/image-mirroring/linked.yaml");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let (code, log, _, _) = repo.run(
        "schedule",
        &schedule,
        &[(
            "QCI_CONFIG_PATH",
            "core-services/image-mirroring/linked.yaml",
        )],
    );
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("outside the workspace"), "{log}");
    for escape in ["../outside.yaml", "/etc/hostname"] {
        let (code, log, _, _) = repo.run("schedule", &schedule, &[("QCI_CONFIG_PATH", escape)]);
        assert_eq!(code, 2, "{escape}: {log}");
    }
    let (code, log, _, _) = repo.run(
        "schedule",
        &schedule,
        &[("QCI_CONFIG_PATH", "core-services/image-mirroring")],
    );
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("the config `core-services/image-mirroring` is a folder"),
        "{log}"
    );
    assert!(repo.target_tags().is_empty());
}

#[test]
fn a_push_that_adds_copies_back_to_app_ci_copies_them_and_notes_what_qci_lacks() {
    let repo = Repo::new();
    // The target registry plays QCI, the source registry app.ci.
    let tool = push_image(&repo.target.addr, "openshift/ci:ci_tool_v1", 5, 2);
    let before = repo.commit_text("qciToAppCIImages: {}\n");
    let after = repo.commit_text("qciToAppCIImages:\n  ci/tool:v1: {}\n  ci/gone:v1: {}\n");
    let (code, log, outputs, summary) = repo.run(
        "push",
        &push_payload(&before, &after, "main"),
        &[("QCI_ISTAG_REGISTRY", repo.source.addr.as_str())],
    );
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("changes 2 entries"), "{log}");
    assert_eq!(served_digest(&repo.source.addr, "ci/tool:v1"), tool);
    assert_eq!(
        mirrored(&outputs),
        [format!("{}/ci/tool:v1", repo.source.addr)]
    );
    let notes: Vec<_> = annotations(&log)
        .into_iter()
        .filter(|a| a.level == "notice" && a.file.as_deref() == Some(CONFIG))
        .collect();
    assert_eq!(notes.len(), 1, "{log}");
    assert_eq!(notes[0].line, Some(3));
    assert!(
        notes[0]
            .message
            .contains("not in QCI: nothing to copy back"),
        "{notes:?}"
    );
    assert!(summary.contains("1 not in QCI"), "{summary}");
}
