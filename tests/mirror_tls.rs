//! Registries as production has them: TLS with a private CA, and logins (htpasswd, Basic).
//! Credentials come from an auth file; they never appear in output.

mod support;

use base64::Engine;
use support::registry::{ImageSpec, LocalRegistry};
use support::run;

fn auth_entry(user: &str, password: &str) -> serde_json::Value {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    serde_json::json!({ "auth": auth })
}

struct Setup {
    source: LocalRegistry,
    target: LocalRegistry,
    dir: tempfile::TempDir,
    config: String,
    ca_bundle: String,
    digest: String,
}

fn setup() -> Setup {
    let source = LocalRegistry::start_tls("puller", "pull-secret-1");
    let target = LocalRegistry::start_tls("pusher", "push-secret-2");
    let digest = source.push(
        "org/app:v1",
        ImageSpec {
            seed: 21,
            platforms: 2,
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("_config.yaml");
    std::fs::write(
        &config,
        format!(
            "supplementalCIImages:\n  ci/app:v1:\n    image: {}/org/app:v1\n",
            source.addr
        ),
    )
    .unwrap();
    // Two private CAs, one bundle.
    let bundle = dir.path().join("ca-bundle.pem");
    let mut pem = std::fs::read(source.ca_file.as_ref().unwrap()).unwrap();
    pem.extend(std::fs::read(target.ca_file.as_ref().unwrap()).unwrap());
    std::fs::write(&bundle, pem).unwrap();
    Setup {
        config: config.to_str().unwrap().to_owned(),
        ca_bundle: bundle.to_str().unwrap().to_owned(),
        source,
        target,
        dir,
        digest,
    }
}

fn write_auth(setup: &Setup, target_password: &str) -> String {
    let auth = serde_json::json!({"auths": {
        setup.source.addr.clone(): auth_entry("puller", "pull-secret-1"),
        format!("{}/ci", setup.target.addr): auth_entry("pusher", target_password),
    }});
    let path = setup.dir.path().join("auth.json");
    std::fs::write(&path, auth.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `qci-mirror mirror` of the setup's config with the CA bundle and `auth`, plus `extra`.
fn mirror(setup: &Setup, auth: &str, extra: &[&str]) -> (u8, String, String) {
    let target_repository = format!("{}/ci", setup.target.addr);
    let args = [
        "mirror",
        "--config",
        &setup.config,
        "--target-repository",
        &target_repository,
        "--ca-file",
        &setup.ca_bundle,
        "--auth-file",
        auth,
    ];
    run(&[&args[..], extra].concat())
}

#[test]
fn mirrors_between_tls_registries_with_logins_from_an_auth_file() {
    let setup = setup();
    let auth = write_auth(&setup, "push-secret-2");
    let (code, stdout, stderr) = mirror(&setup, &auth, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 copied"), "{stdout}");
    assert_eq!(setup.target.served_digest("ci:ci_app_v1"), setup.digest);
    for secret in ["pull-secret-1", "push-secret-2"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
}

#[test]
fn a_wrong_password_fails_the_entry_without_showing_the_password() {
    let setup = setup();
    let auth = write_auth(&setup, "wrong-secret-3");
    let (code, stdout, stderr) = mirror(&setup, &auth, &["--format", "json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["entries"][0]["result"], "failed", "{report}");
    assert!(!stdout.contains("wrong-secret-3") && !stderr.contains("wrong-secret-3"));
}

#[test]
fn an_untrusted_certificate_is_a_clear_per_entry_error() {
    let setup = setup();
    let auth = write_auth(&setup, "push-secret-2");
    let target_repository = format!("{}/ci", setup.target.addr);
    // No --ca-file: the private CA is not trusted.
    let started = std::time::Instant::now();
    let (code, stdout, _) = run(&[
        "plan",
        "--config",
        &setup.config,
        "--target-repository",
        &target_repository,
        "--auth-file",
        &auth,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let entry = &report["entries"][0];
    assert_eq!(entry["state"], "unreachable");
    assert!(
        entry["reason"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{entry}"
    );
    // A refused certificate is final: five tries would wait 7.5 s between them.
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(4),
        "retried: {took:?}"
    );
}

#[test]
fn in_github_actions_every_secret_is_masked_before_any_output() {
    let setup = setup();
    let auth = write_auth(&setup, "push-secret-2");
    let target_repository = format!("{}/ci", setup.target.addr);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_qci-mirror"))
        .args([
            "plan",
            "--config",
            &setup.config,
            "--target-repository",
            &target_repository,
        ])
        .args(["--ca-file", &setup.ca_bundle, "--auth-file", &auth])
        .env("GITHUB_ACTIONS", "true")
        .env("QCI_TARGET_USERNAME", "pusher")
        .env("QCI_TARGET_PASSWORD", "push-secret-2")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let masks: Vec<&str> = stdout
        .lines()
        .take_while(|l| l.starts_with("::add-mask::"))
        .collect();
    for secret in ["pull-secret-1", "push-secret-2"] {
        assert!(
            masks.contains(&format!("::add-mask::{secret}").as_str()),
            "{stdout}"
        );
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode("puller:pull-secret-1");
    assert!(
        masks.contains(&format!("::add-mask::{encoded}").as_str()),
        "{stdout}"
    );
    // After the masks, the secrets never appear again.
    let rest: String = stdout.lines().skip(masks.len()).collect();
    assert!(!rest.contains("secret-"), "{rest}");
}

#[test]
fn copies_back_to_app_ci_log_in_with_the_app_ci_variables_and_mask_them() {
    let setup = setup();
    // The source registry plays QCI, the target registry app.ci.
    let qci_repository = format!("{}/org/app", setup.source.addr);
    let config = setup.dir.path().join("backfill.yaml");
    std::fs::write(
        &config,
        format!("qciToAppCIImages:\n  ci/app:v1:\n    image: {qci_repository}:v1\n"),
    )
    .unwrap();
    let pull_only = serde_json::json!({"auths": {
        setup.source.addr.clone(): auth_entry("puller", "pull-secret-1"),
    }});
    let auth = setup.dir.path().join("pull-only.json");
    std::fs::write(&auth, pull_only.to_string()).unwrap();
    let copy_back = |app_ci_password: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_qci-mirror"));
        command
            .args(["mirror", "--format", "json", "--config"])
            .arg(&config)
            .args(["--target-repository", &qci_repository])
            .args(["--istag-registry", &setup.target.addr])
            .args(["--ca-file", &setup.ca_bundle, "--auth-file"])
            .arg(&auth)
            .env("GITHUB_ACTIONS", "true");
        if let Some(password) = app_ci_password {
            command
                .env("QCI_APP_CI_USERNAME", "pusher")
                .env("QCI_APP_CI_PASSWORD", password);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        (output.status.code(), stdout, stderr)
    };

    // Without app.ci's login the push is refused, and the entry says so.
    let (code, stdout, stderr) = copy_back(None);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("\"result\": \"failed\""), "{stdout}");

    let (code, stdout, stderr) = copy_back(Some("push-secret-2"));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("::add-mask::"),
        "the password is masked before anything else: {stdout}"
    );
    let json_start = stdout.find('{').unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert_eq!(report["entries"][0]["result"], "copied", "{report}");
    assert_eq!(setup.target.served_digest("ci/app:v1"), setup.digest);
    let after_masks: String = stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(!after_masks.contains("push-secret-2"), "{after_masks}");
    assert!(!stderr.contains("push-secret-2"), "{stderr}");
}

#[test]
fn a_trace_log_shows_every_request_and_never_a_credential() {
    let setup = setup();
    let auth = write_auth(&setup, "push-secret-2");
    let target_repository = format!("{}/ci", setup.target.addr);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_qci-mirror"))
        .args(["mirror", "--config", &setup.config])
        .args(["--target-repository", &target_repository])
        .args(["--ca-file", &setup.ca_bundle, "--auth-file", &auth])
        .env("RUST_LOG", "trace")
        .env("QCI_TARGET_USERNAME", "pusher")
        .env("QCI_TARGET_PASSWORD", "push-secret-2")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let manifest_head = format!(
        "HEAD https://{}/v2/org/app/manifests/v1 -> 200 in ",
        setup.source.addr
    );
    assert!(stderr.contains(&manifest_head), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "PUT https://{}/v2/ci/manifests/ci_app_v1 -> 201",
            setup.target.addr
        )),
        "{stderr}"
    );
    // Uploads are shown without their state in the query.
    assert!(!stderr.contains("_state="), "{stderr}");
    // Only qci-mirror's events: hyper, reqwest and rustls stay quiet even at trace.
    let log_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            let level = l.split_whitespace().next().unwrap_or_default();
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level)
        })
        .collect();
    assert!(log_lines.len() > 10, "{stderr}");
    for line in log_lines {
        assert!(line.contains(" qci_mirror::"), "not ours: {line}");
    }
    for secret in [
        "pull-secret-1".to_owned(),
        "push-secret-2".to_owned(),
        base64::engine::general_purpose::STANDARD.encode("puller:pull-secret-1"),
        base64::engine::general_purpose::STANDARD.encode("pusher:push-secret-2"),
        "authorization".to_owned(),
    ] {
        assert!(
            !stderr.to_lowercase().contains(&secret.to_lowercase()),
            "{secret} in {stderr}"
        );
    }
}
