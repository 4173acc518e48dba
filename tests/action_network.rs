//! Network checks on pull requests, end to end: `qci-mirror action` on a real git checkout whose
//! sources and target repository are local registries (the CNCF distribution registry on
//! loopback), reached through fault-injecting proxies that record every request.

mod support;

use base64::Engine;
use support::action::{Annotation, Api, CONFIG, annotations, env, pull_request, run_action};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::registry::{ImageSpec, LocalRegistry};
use support::token_server::TokenServer;

/// For the proxies and the token server; the action builds its own runtime.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// How often the proxy saw `method` (any, when empty) on a path containing `fragment`.
fn seen(proxy: &FaultProxy, method: &str, fragment: &str) -> usize {
    let prefix = format!("{method} ");
    proxy
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| method.is_empty() || s.request.starts_with(&prefix))
        .filter(|s| s.request.contains(fragment))
        .count()
}

/// `(level, line, code)` of each annotation.
fn placed(found: &[Annotation]) -> Vec<(&str, u32, &str)> {
    found
        .iter()
        .map(|a| (a.level.as_str(), a.line.unwrap_or(0), a.code.as_str()))
        .collect()
}

fn on_line(found: &[Annotation], line: u32) -> &Annotation {
    found
        .iter()
        .find(|a| a.line == Some(line))
        .unwrap_or_else(|| panic!("no annotation on line {line}: {found:#?}"))
}

fn single(seed: u64, arch: &'static str) -> ImageSpec {
    ImageSpec {
        seed,
        platforms: 1,
        arch: Some(arch),
        ..ImageSpec::default()
    }
}

#[test]
fn changed_entries_are_checked_against_their_registries_with_at_most_two_heads_each() {
    let runtime = runtime();
    let (source, target) = (LocalRegistry::start(), LocalRegistry::start());
    let push = |registry: &LocalRegistry, image: &str, spec| registry.push(image, spec);
    push(&source, "org/kept:v2", single(1, "amd64"));
    push(
        &source,
        "org/multi:v1",
        ImageSpec {
            seed: 2,
            platforms: 2,
            ..ImageSpec::default()
        },
    );
    push(&source, "org/single:v1", single(3, "amd64"));
    push(&source, "org/taken:v1", single(4, "amd64"));
    push(
        &source,
        "org/arm:v1",
        ImageSpec {
            seed: 5,
            index_of: Some(&["arm64"]),
            ..ImageSpec::default()
        },
    );
    push(&source, "org/armsingle:v1", single(6, "arm64"));
    // Tags already in the target repository: one a new entry would overwrite, and one that
    // belongs to an entry the base config has.
    let taken = push(&target, "openshift/ci:ci_taken_v1", single(7, "amd64"));
    push(&target, "openshift/ci:ci_kept_v1", single(8, "amd64"));
    // Taken by the very image the new entry names, put there by something else.
    let twin = push(&source, "org/twin:v1", single(9, "amd64"));
    assert_eq!(
        push(&target, "openshift/ci:ci_twin_v1", single(9, "amd64")),
        twin
    );

    let src = FaultProxy::start(&runtime, &source.addr, Vec::new());
    let dst = FaultProxy::start(&runtime, &target.addr, Vec::new());
    let (s, t) = (src.addr.as_str(), dst.addr.as_str());
    let base = format!(
        "\
supplementalCIImages:
  ci/kept:v1:
    image: {s}/org/kept:v1
  ci/same:v1:
    image: {s}/org/gone:v1
"
    );
    let head = format!(
        "\
supplementalCIImages:
  ci/kept:v1:
    image: {s}/org/kept:v2
  ci/same:v1:
    image: {s}/org/gone:v1
  ci/multi:v1:
    image: {s}/org/multi:v1
  ci/single:v1:
    image: {s}/org/single:v1
  ci/missing:v1:
    image: {s}/org/missing:v1
  ci/taken:v1:
    image: {s}/org/taken:v1
  ci/arm:v1:
    image: {s}/org/arm:v1
  ci/armsingle:v1:
    image: {s}/org/armsingle:v1
  ci/bad:v1:
    image: {s}/Org/bad:v1
  ci/twin:v1:
    image: {s}/org/twin:v1
"
    );
    let pr = pull_request(&base, &head, true);
    let api = Api::start();
    let target_repository = format!("{t}/openshift/ci");
    let plain_http = format!("{s} {t}");
    let (code, stdout, stderr) = run_action(&env(
        &pr,
        &api,
        &[
            ("QCI_TARGET_REPOSITORY", &target_repository),
            ("QCI_PLAIN_HTTP", &plain_http),
        ],
    ));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(stderr, "");
    // A fork's pull request: the API is only read (the commits), and no credentials at all.
    assert!(
        api.requests()
            .iter()
            .all(|r| r.method == wiremock::http::Method::GET),
        "{:?}",
        api.requests()
    );
    let mut hosts = [s, t];
    hosts.sort_unstable();
    assert!(
        stdout.contains(&format!(
            "qci-mirror: checking 8 changed entries against 2 registries: {}, {}\n",
            hosts[0], hosts[1]
        )),
        "{stdout}"
    );

    let found = annotations(&stdout);
    assert_eq!(
        placed(&found),
        [
            ("error", 11, "source-not-found"),
            ("error", 12, "target-exists"),
            ("error", 19, "invalid-image-reference"),
            ("error", 20, "target-exists"),
            ("warning", 15, "source-wrong-platform"),
            ("warning", 17, "source-wrong-platform"),
        ],
        "{stdout}"
    );
    assert!(found.iter().all(|a| a.file.as_deref() == Some(CONFIG)));
    assert_eq!(
        on_line(&found, 11).message,
        format!(
            "`{s}/org/missing:v1` does not exist: {s} has no such repository or tag\nhelp: check the repository and tag for typos, and that the image was pushed"
        )
    );
    assert!(
        on_line(&found, 12).message.starts_with(&format!(
            "`{t}/openshift/ci:ci_taken_v1` already exists ({taken}): this new entry would overwrite it\nhelp: choose a key whose QCI tag is free"
        )),
        "{stdout}"
    );
    assert!(
        on_line(&found, 15).message.starts_with(&format!(
            "`{s}/org/arm:v1` has no linux/amd64 image (its index has linux/arm64): jobs on linux/amd64 clusters"
        )),
        "{stdout}"
    );
    assert!(
        on_line(&found, 17)
            .message
            .contains("(it is a single linux/arm64 image)"),
        "{stdout}"
    );
    assert!(
        on_line(&found, 20)
            .message
            .ends_with("; it holds the source's very image today, but something else put it there and may move it"),
        "{stdout}"
    );
    let outputs = std::fs::read_to_string(&pr.output).unwrap();
    assert!(outputs.contains("errors=4\n"), "{outputs}");
    assert!(outputs.contains("warnings=2\n"), "{outputs}");

    // The budget: one HEAD of the source, and one of the target for an entry whose QCI tag is
    // new to the config; the platforms cost a GET of an index, or of a manifest and its config.
    for (repository, tag, new_tag, gets) in [
        ("kept", "v2", false, 2),
        ("multi", "v1", true, 1),
        ("single", "v1", true, 2),
        ("missing", "v1", true, 0),
        ("taken", "v1", true, 2),
        ("arm", "v1", true, 1),
        ("armsingle", "v1", true, 2),
        ("twin", "v1", true, 2),
    ] {
        let manifest = format!("/v2/org/{repository}/manifests/");
        let source_heads = seen(&src, "HEAD", &manifest);
        let target_heads = seen(&dst, "HEAD", &format!("/manifests/ci_{repository}_v1"));
        assert_eq!(source_heads, 1, "{repository}");
        assert_eq!(target_heads, usize::from(new_tag), "{repository}");
        assert!(source_heads + target_heads <= 2);
        assert_eq!(
            seen(&src, "GET", &manifest)
                + seen(&src, "GET", &format!("/v2/org/{repository}/blobs/")),
            gets,
            "{repository}"
        );
        // By digest: what the HEAD saw, even if the tag moved since.
        assert_eq!(seen(&src, "GET", &format!("{manifest}{tag}")), 0);
    }
    // Unchanged and invalid entries are never looked up.
    assert_eq!(seen(&src, "", "/gone") + seen(&src, "", "/Org/"), 0);
    assert_eq!(
        seen(&dst, "", "ci_same_v1") + seen(&dst, "", "ci_bad_v1"),
        0
    );
    // Reads only.
    for proxy in [&src, &dst] {
        let log = proxy.log.lock().unwrap();
        assert!(
            log.iter()
                .all(|s| s.request.starts_with("GET ") || s.request.starts_with("HEAD ")),
            "{log:#?}"
        );
    }

    // Turned off, nothing is asked of any registry.
    let before = src.log.lock().unwrap().len() + dst.log.lock().unwrap().len();
    let (code, stdout, _) = run_action(&env(
        &pr,
        &api,
        &[
            ("QCI_TARGET_REPOSITORY", &target_repository),
            ("QCI_PLAIN_HTTP", &plain_http),
            ("QCI_NETWORK_CHECKS", "false"),
        ],
    ));
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        placed(&annotations(&stdout)),
        [("error", 19, "invalid-image-reference")]
    );
    assert!(!stdout.contains("qci-mirror: checking"), "{stdout}");
    let after = src.log.lock().unwrap().len() + dst.log.lock().unwrap().len();
    assert_eq!(before, after);
}

#[test]
fn a_private_source_is_an_error_unless_the_pull_credentials_given_can_read_it() {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let tokens = TokenServer::start(&runtime, dir.path(), "puller", "pull-secret-7", 300);
    let mut registry = LocalRegistry::start_with_tokens(&tokens);
    registry.credentials = Some("puller:pull-secret-7".to_owned());
    registry.push("public/tool:v1", single(11, "amd64"));
    registry.push("private/tool:v1", single(12, "amd64"));
    // Anonymous pulls are allowed under `public/` only: the target repository is private too.
    let proxy = FaultProxy::start(&runtime, &registry.addr, Vec::new());
    let p = proxy.addr.as_str();

    let head = format!(
        "\
supplementalCIImages:
  ci/public:v1:
    image: {p}/public/tool:v1
  ci/private:v1:
    image: {p}/private/tool:v1
"
    );
    let pr = pull_request("supplementalCIImages: {}\n", &head, true);
    let api = Api::start();
    let target_repository = format!("{p}/openshift/ci");
    let settings = [
        ("QCI_TARGET_REPOSITORY", target_repository.as_str()),
        ("QCI_PLAIN_HTTP", p),
    ];

    // A fork's pull request has no secrets: anonymous, as quay.io sees it.
    let (code, stdout, stderr) = run_action(&env(&pr, &api, &settings));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let found = annotations(&stdout);
    assert_eq!(
        placed(&found),
        [
            ("error", 5, "source-private"),
            ("warning", 2, "registry-unreachable"),
            ("warning", 4, "registry-unreachable"),
        ],
        "{stdout}"
    );
    assert!(
        found[0].message.starts_with(&format!(
            "`{p}/private/tool:v1` cannot be pulled anonymously ({p} answered HTTP 401): the image is private, or its repository does not exist; private images cannot be mirrored\nhelp: "
        )),
        "{stdout}"
    );
    // A tag we may not see is not passed as free.
    assert!(
        on_line(&found, 2).message.starts_with(&format!(
            "could not check whether `{p}/openshift/ci:ci_public_v1` is free on registry {p}: access denied (HTTP 401)\n"
        )),
        "{stdout}"
    );
    // Refusals are final: no second login and HEAD for a token just issued.
    assert_eq!(seen(&proxy, "HEAD", "/private/tool/manifests/"), 1);
    assert_eq!(seen(&proxy, "HEAD", "/manifests/ci_private_v1"), 1);

    // With pull credentials that can read both, the same pull request passes; the password is
    // masked before anything about registries is printed.
    let login = base64::engine::general_purpose::STANDARD.encode("puller:pull-secret-7");
    let auth = serde_json::json!({"auths": {p: {"auth": login}}}).to_string();
    let mut with_credentials = settings.to_vec();
    with_credentials.push(("QCI_REGISTRY_AUTH", &auth));
    let (code, stdout, stderr) = run_action(&env(&pr, &api, &with_credentials));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(annotations(&stdout).is_empty(), "{stdout}");
    let mask = stdout.find("::add-mask::pull-secret-7\n").expect(&stdout);
    let checking = stdout
        .find("qci-mirror: checking 2 changed entries against 1 registry: ")
        .expect(&stdout);
    assert!(mask < checking, "{stdout}");
    assert_eq!(stdout.matches("pull-secret-7").count(), 1, "{stdout}");

    // An imagestreamtag on app.ci that needs a login the check was not given: the mirror reads
    // it with its own app.ci login, so it is unchecked (a warning), not private.
    let istag = pull_request(
        "supplementalCIImages: {}\n",
        "supplementalCIImages:\n  ci/from-istag:v1:\n    namespace: private\n    name: tool\n    tag: v1\n",
        true,
    );
    let mut on_app_ci = settings.to_vec();
    on_app_ci.push(("QCI_ISTAG_REGISTRY", p));
    // Another repository, so another GitHub API serving it.
    let api = Api::start();
    let (code, stdout, stderr) = run_action(&env(&istag, &api, &on_app_ci));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let found = annotations(&stdout);
    assert_eq!(
        placed(&found),
        [
            ("warning", 2, "registry-unreachable"),
            ("warning", 3, "registry-unreachable"),
        ],
        "{stdout}"
    );
    assert!(
        on_line(&found, 3).message.starts_with(&format!(
            "could not check the imagestreamtag source `{p}/private/tool:v1` on registry {p}: it needs a login (HTTP 401)"
        )),
        "{stdout}"
    );
}

#[test]
fn a_registry_that_is_down_or_failing_only_warns_naming_it() {
    let runtime = runtime();
    let source = LocalRegistry::start();
    source.push("org/tool:v1", single(21, "amd64"));
    let failing = FaultProxy::start(
        &runtime,
        &source.addr,
        vec![Rule {
            method: Some("HEAD"),
            path_contains: "/manifests/",
            fault: Fault::Status(503, None),
            times: usize::MAX,
        }],
    );
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("127.0.0.1:{port}");
    let s = failing.addr.as_str();

    let head = format!("supplementalCIImages:\n  ci/tool:v1:\n    image: {s}/org/tool:v1\n");
    let pr = pull_request("supplementalCIImages: {}\n", &head, true);
    let api = Api::start();
    let target_repository = format!("{down}/openshift/ci");
    let plain_http = format!("{s}\n{down}");
    let (code, stdout, stderr) = run_action(&env(
        &pr,
        &api,
        &[
            ("QCI_TARGET_REPOSITORY", &target_repository),
            ("QCI_PLAIN_HTTP", &plain_http),
        ],
    ));
    assert_eq!(
        code, 0,
        "a registry's failure never fails the step\n{stdout}{stderr}"
    );
    let found = annotations(&stdout);
    assert_eq!(
        placed(&found),
        [
            ("warning", 2, "registry-unreachable"),
            ("warning", 3, "registry-unreachable"),
        ],
        "{stdout}"
    );
    assert!(
        on_line(&found, 3).message.starts_with(&format!(
            "could not check the source `{s}/org/tool:v1` on registry {s}: HTTP 503 from http://{s}/v2/org/tool/manifests/v1\n"
        )),
        "{stdout}"
    );
    assert!(
        on_line(&found, 2).message.starts_with(&format!(
            "could not check whether `{down}/openshift/ci:ci_tool_v1` is free on registry {down}: "
        )),
        "{stdout}"
    );
    // Not retried: a failure only warns, and the check stays within its budget.
    assert_eq!(seen(&failing, "HEAD", "/manifests/"), 1);
    let outputs = std::fs::read_to_string(&pr.output).unwrap();
    assert!(outputs.contains("errors=0\nwarnings=2\n"), "{outputs}");
}

/// A registry that accepts connections and never says a word; the sockets stay open until the
/// test ends.
fn silent_registry() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    addr
}

#[test]
fn a_registry_that_never_answers_costs_the_check_its_budget_and_the_report_still_comes() {
    let silent = silent_registry();
    let mut head = String::from("supplementalCIImages:\n");
    for i in 0..20 {
        head.push_str(&format!(
            "  ci/tool-{i}:v1:\n    image: {silent}/org/tool-{i}:v1\n"
        ));
    }
    let pr = pull_request("supplementalCIImages: {}\n", &head, true);
    let api = Api::start();
    let target_repository = format!("{silent}/openshift/ci");
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = run_action(&env(
        &pr,
        &api,
        &[
            ("QCI_TARGET_REPOSITORY", &target_repository),
            ("QCI_PLAIN_HTTP", &silent),
            ("QCI_TIMEOUT", "1"),
            ("QCI_NETWORK_CHECKS_TIMEOUT", "4"),
        ],
    ));
    let took = started.elapsed();
    assert_eq!(
        code, 0,
        "an unreachable registry only warns\n{stdout}{stderr}"
    );
    // Twenty entries, each waiting on a registry that never answers: the budget ends them all.
    assert!(
        took < std::time::Duration::from_secs(30),
        "the budget of 4 s was not kept: {took:?}"
    );
    assert!(
        stdout.contains("qci-mirror: 20 entries changed, 0 errors, "),
        "{stdout}"
    );
    // Every entry is reported unchecked: the first by their own timeouts, the rest by the
    // budget.
    let summary = std::fs::read_to_string(&pr.summary).unwrap();
    let warned = |line: u32| {
        summary.lines().any(|row| {
            row.contains("`registry-unreachable`") && row.contains(&format!("#L{line})"))
        })
    };
    for line in (2..=40).step_by(2) {
        assert!(
            warned(line) || warned(line + 1),
            "entry on line {line} has no warning\n{summary}"
        );
    }
    assert!(
        summary.contains("ran out of their 4 s (input network&#95;checks&#95;timeout)"),
        "{summary}"
    );
    assert!(summary.contains("operation timed out"), "{summary}");
}
