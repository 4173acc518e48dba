//! A registry with Bearer-token authentication, like quay.io: anonymous pulls of public
//! repositories, a robot login to push, tokens scoped to one repository each.

mod support;

use base64::Engine;
use support::LocalConfig;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::registry::{ImageSpec, LocalRegistry};
use support::token_server::TokenServer;

struct Setup {
    runtime: tokio::runtime::Runtime,
    tokens: TokenServer,
    registry: LocalRegistry,
    dir: tempfile::TempDir,
    digest: String,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tokens = TokenServer::start(&runtime, dir.path(), "robot", "robot-secret-4", 300);
    let mut registry = LocalRegistry::start_with_tokens(&tokens);
    registry.credentials = Some("robot:robot-secret-4".to_owned());
    let digest = registry.push(
        "public/app:v1",
        ImageSpec {
            seed: 31,
            platforms: 2,
            ..Default::default()
        },
    );
    Setup {
        runtime,
        tokens,
        registry,
        dir,
        digest,
    }
}

fn mirror(setup: &Setup, auth: serde_json::Value) -> (u8, serde_json::Value) {
    mirror_via(setup, &setup.registry.addr, auth)
}

/// Mirrors with the registry reached at `addr` (itself, or a proxy in front of it).
fn mirror_via(setup: &Setup, addr: &str, auth: serde_json::Value) -> (u8, serde_json::Value) {
    let auth_path = setup.dir.path().join("auth.json");
    std::fs::write(&auth_path, auth.to_string()).unwrap();
    let config = LocalConfig::new(
        &format!("supplementalCIImages:\n  ci/app:v1:\n    image: {addr}/public/app:v1\n"),
        &format!("{addr}/ci"),
        &[addr],
    );
    let (code, stdout, stderr) = config.run(
        "mirror",
        &[
            "--auth-file",
            auth_path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    (code, report)
}

#[test]
fn anonymous_pulls_and_a_robot_push_through_scoped_tokens() {
    let setup = setup();
    let login = base64::engine::general_purpose::STANDARD.encode("robot:robot-secret-4");
    let (code, report) = mirror(
        &setup,
        serde_json::json!({"auths": {format!("{}/ci", setup.registry.addr): {"auth": login}}}),
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["entries"][0]["result"], "copied", "{report}");
    assert_eq!(setup.registry.served_digest("ci:ci_app_v1"), setup.digest);
    // Source and target share the registry: every blob is mounted, none streamed, with one
    // token for both repositories.
    assert!(report["blobs_mounted"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["blobs_uploaded"], 0, "{report}");

    let issued = setup.tokens.issued.lock().unwrap().clone();
    assert!(
        issued.iter().any(|t| t.user.is_none() && t.scopes.iter().any(|s| s == "repository:public/app:pull")),
        "the source is read anonymously: {issued:?}"
    );
    assert!(
        issued.iter().any(|t| t.user.as_deref() == Some("robot")
            && t.scopes.iter().any(|s| s == "repository:ci:pull,push")),
        "the target is written with the robot's token: {issued:?}"
    );
    let mount_tokens = issued
        .iter()
        .filter(|t| {
            t.user.as_deref() == Some("robot")
                && t.scopes == ["repository:ci:pull,push", "repository:public/app:pull"]
        })
        .count();
    assert_eq!(
        mount_tokens, 1,
        "one mount token per pair of repositories: {issued:?}"
    );
}

#[test]
fn without_push_rights_the_entry_fails_at_the_push() {
    let setup = setup();
    let (code, report) = mirror(&setup, serde_json::json!({"auths": {}}));
    assert_eq!(code, 1, "{report}");
    let entry = &report["entries"][0];
    assert_eq!(entry["result"], "failed", "{report}");
    assert!(
        matches!(entry["stage"].as_str(), Some("blob" | "push")),
        "{entry}"
    );
}

#[test]
fn a_token_the_registry_stops_accepting_mid_run_is_renewed_and_the_copy_completes() {
    let setup = setup();
    // Each kind of request is refused once as if its token had expired: the registry answers
    // 401 with a fresh challenge, as quay.io does when a token runs out early or is revoked.
    let expire = |method, path_contains| Rule {
        method: Some(method),
        path_contains,
        fault: Fault::ExpireToken,
        times: 1,
    };
    let proxy = FaultProxy::start(
        &setup.runtime,
        &setup.registry.addr,
        vec![
            // Mounts refused, so that blobs stream and their requests meet expired tokens too.
            Rule {
                method: Some("POST"),
                path_contains: "mount=",
                fault: Fault::Status(403, None),
                times: usize::MAX,
            },
            expire("HEAD", "/manifests/"),
            expire("GET", "/manifests/"),
            expire("GET", "/blobs/sha256"),
            expire("PUT", "/blobs/uploads/"),
            expire("PUT", "/manifests/"),
        ],
    );
    let login = base64::engine::general_purpose::STANDARD.encode("robot:robot-secret-4");
    let (code, report) = mirror_via(
        &setup,
        &proxy.addr,
        serde_json::json!({"auths": {format!("{}/ci", proxy.addr): {"auth": login}}}),
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["entries"][0]["result"], "copied", "{report}");
    assert_eq!(setup.registry.served_digest("ci:ci_app_v1"), setup.digest);
    // Every expiry was met (the mount refusal has uses left by design).
    let unused = proxy.unused_rules();
    assert!(
        unused.iter().all(|r| r.path_contains == "mount="),
        "{unused:?}"
    );
}
