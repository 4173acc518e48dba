//! The action as its image runs it. The static binary (built exactly as the Dockerfile builds
//! it) runs with `chroot` in a folder shaped like the final image: `/qci-mirror`, the CA bundle
//! at `/etc/ssl/certs/ca-certificates.crt`, `/etc/passwd` and `/tmp`, nothing else (no shell, no
//! git, no libc), with the runner's folders under `/github` as the runner mounts them. strace
//! watches that it never starts a program.
//!
//! Needs root for `chroot` (CI runs as root) and `strace` (`scripts/test` installs it); without
//! either the test fails rather than skips.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::action::{Api, CONFIG, annotations, git, pull_request};
use support::registry::{ImageSpec, LocalRegistry};

/// The static binary the Dockerfile builds, built with the Dockerfile's command (a no-op when
/// `scripts/check-action --static-build` has just built it), so it is never stale.
fn static_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let rustc = Command::new("rustc").arg("-vV").output().unwrap();
        let host = String::from_utf8(rustc.stdout)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
            .unwrap();
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| manifest_dir.join("target"), PathBuf::from);
        let mut build = Command::new(cargo);
        build
            .args(["build", "--release", "--locked", "--target", &host])
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .current_dir(manifest_dir);
        // Cargo gives this test its package's CARGO_* variables and OUT_DIR; build scripts
        // (ring's) rerun when those change, which would rebuild the whole release instead of
        // finding scripts/check-action's build fresh.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if (name.starts_with("CARGO_") && name != "CARGO_HOME" && name != "CARGO_TARGET_DIR")
                || name == "OUT_DIR"
            {
                build.env_remove(name.as_ref());
            }
        }
        let status = build.status().unwrap();
        assert!(status.success(), "the static build failed");
        target_dir.join(host).join("release/qci-mirror")
    })
}

/// A program on this machine's PATH (the test's tools, outside the image root).
fn tool(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed (scripts/test installs it)"))
}

/// The final image's filesystem, with the runner's mounts.
struct ImageRoot {
    dir: tempfile::TempDir,
}

/// The PATH distroless images set: none of its folders exists in the image.
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl ImageRoot {
    /// The image's files, the workspace copied from `workspace`, and `extra_ca` (PEM) added to
    /// the image's CA bundle when given.
    fn new(workspace: &Path, extra_ca: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::copy(static_binary(), root.join("qci-mirror")).unwrap();
        std::fs::create_dir_all(root.join("etc/ssl/certs")).unwrap();
        let mut bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt")
            .expect("the machine's CA bundle (Debian's ca-certificates)");
        if let Some(ca) = extra_ca {
            bundle.extend(std::fs::read(ca).unwrap());
        }
        std::fs::write(root.join("etc/ssl/certs/ca-certificates.crt"), bundle).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/sbin/nologin\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("tmp")).unwrap();
        // The container runtime gives every container a /dev with null in it; without it a
        // program could not even be started, and an attempt would go unseen.
        std::fs::create_dir(root.join("dev")).unwrap();
        let made = Command::new(tool("mknod"))
            .arg(root.join("dev/null"))
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(made.success(), "mknod /dev/null (needs root)");
        for folder in ["github/home", "github/workflow", "github/file_commands"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        let copied = Command::new(tool("cp"))
            .arg("-a")
            .arg(workspace)
            .arg(root.join("github/workspace"))
            .status()
            .unwrap();
        assert!(copied.success());
        ImageRoot { dir }
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.dir.path().join(inside.trim_start_matches('/'))
    }

    /// Runs `/qci-mirror action` in the root as the runner starts the container, with the
    /// event `payload` and `env` on top of the runner's variables; returns (exit code, stdout
    /// and stderr, the `GITHUB_OUTPUT` file). Fails if the binary starts any program.
    fn run_action(
        &self,
        event: &str,
        payload: &serde_json::Value,
        env: &[(&str, &str)],
    ) -> (i32, String, String) {
        std::fs::write(
            self.path("/github/workflow/event.json"),
            serde_json::to_vec(payload).unwrap(),
        )
        .unwrap();
        let output_file = self.path("/github/file_commands/set_output");
        let _ = std::fs::remove_file(&output_file);
        let trace = self.dir.path().join("execve.trace");
        let runner: HashMap<&str, &str> = [
            ("PATH", IMAGE_PATH),
            ("HOME", "/github/home"),
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_EVENT_PATH", "/github/workflow/event.json"),
            ("GITHUB_WORKSPACE", "/github/workspace"),
            ("GITHUB_OUTPUT", "/github/file_commands/set_output"),
            ("GITHUB_STEP_SUMMARY", "/github/file_commands/step_summary"),
            ("GITHUB_REPOSITORY", "openshift/release"),
            ("GITHUB_SERVER_URL", "https://github.com"),
        ]
        .into_iter()
        .chain(env.iter().copied())
        .collect();
        let output = Command::new(tool("strace"))
            .args(["-f", "-qq", "-e", "trace=execve,execveat", "-o"])
            .arg(&trace)
            .arg(tool("chroot"))
            .arg(self.dir.path())
            .args(["/qci-mirror", "action"])
            .env_clear()
            .envs(&runner)
            // The runner starts the container with --workdir /github/workspace; chroot starts
            // in the new root, and the binary must not depend on it.
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        let execs: Vec<String> = std::fs::read_to_string(&trace)
            .unwrap()
            .lines()
            .filter(|l| l.contains("execve"))
            .map(str::to_owned)
            .collect();
        // strace's own exec of chroot, chroot's exec of the binary, and nothing after.
        assert_eq!(
            execs.len(),
            2,
            "programs were started:\n{}",
            execs.join("\n")
        );
        assert!(execs[1].contains("execve(\"/qci-mirror\""), "{}", execs[1]);
        let outputs = std::fs::read_to_string(&output_file).unwrap_or_default();
        let secrets = env
            .iter()
            .filter(|(name, _)| support::action::SECRET_VARIABLES.contains(name))
            .map(|(_, value)| *value);
        support::runner::assert_only_intended(&log, secrets);
        (output.status.code().unwrap_or(-1), log, outputs)
    }
}

#[test]
fn a_pull_request_is_checked_through_the_contents_and_files_apis() {
    let base = "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v1\n";
    let head = "supplementalCIImages:\n  ci/a:v1:\n    image: quay.io/org/a:v1\n  ci/hub:v1:\n    image: docker.io/library/busybox:1.36\n  ci/b:v1:\n    image: quay.io/org/b:v1\n";
    let pr = pull_request(base, head, true);
    let api = Api::start();
    api.serve_repository(&pr.workspace, Some(pr.files()));
    let root = ImageRoot::new(&pr.workspace, None);
    let payload: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pr.event_path).unwrap()).unwrap();
    let api_url = api.server.uri();
    let (code, log, outputs) = root.run_action(
        "pull_request",
        &payload,
        &[
            ("GITHUB_API_URL", &api_url),
            ("GITHUB_SHA", &pr.merge_sha),
            ("QCI_GITHUB_TOKEN", "ghs_image-root-token"),
            ("QCI_NETWORK_CHECKS", "false"),
        ],
    );
    assert_eq!(code, 1, "{log}");
    let found: Vec<(String, Option<u32>, String)> = annotations(&log)
        .into_iter()
        .map(|a| (a.level, a.line, a.code))
        .collect();
    assert_eq!(
        found,
        [("error".to_owned(), Some(5), "docker-hub-source".to_owned())],
        "{log}"
    );
    assert!(outputs.contains("errors=1\n"), "{outputs}");
    let changed: Vec<String> = outputs
        .lines()
        .find_map(|l| l.strip_prefix("changed-targets="))
        .map(|json| serde_json::from_str(json).unwrap())
        .unwrap_or_default();
    assert!(
        changed.contains(&"quay.io/openshift/ci:ci_b_v1".to_owned()),
        "{outputs}"
    );
    // Every commit came from the contents API, the changed files from the files API.
    let routes: Vec<String> = api
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    let contents = format!("GET /repos/openshift/release/contents/{CONFIG}");
    assert!(
        routes.iter().filter(|r| **r == contents).count() >= 2,
        "{routes:?}"
    );
    assert!(
        routes.contains(&"GET /repos/openshift/release/pulls/7/files".to_owned()),
        "{routes:?}"
    );
    // The token is masked first and never printed otherwise.
    assert!(
        log.starts_with("::add-mask::ghs_image-root-token\n"),
        "{log}"
    );
    assert_eq!(log.matches("ghs_image-root-token").count(), 1, "{log}");
}

/// A repository whose `main` gains one entry from the plain-HTTP source, served by the mock API;
/// the push event; and the TLS target that only `pusher` may write to.
struct Push {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    payload: serde_json::Value,
    api: Api,
    source: LocalRegistry,
    target: LocalRegistry,
    /// The source image's digest.
    digest: String,
}

impl Push {
    fn new() -> Self {
        let source = LocalRegistry::start();
        let target = LocalRegistry::start_tls("pusher", "push-secret-9");
        let digest = source.push(
            "org/app:v1",
            ImageSpec {
                seed: 91,
                platforms: 2,
                ..Default::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("workspace");
        std::fs::create_dir_all(workspace.join(CONFIG).parent().unwrap()).unwrap();
        git(&workspace, &["init", "-q"]);
        let commit = |text: &str| {
            std::fs::write(workspace.join(CONFIG), text).unwrap();
            git(&workspace, &["add", "-A"]);
            git(&workspace, &["commit", "-q", "-m", "config"]);
            git(&workspace, &["rev-parse", "HEAD"])
        };
        let before = commit("supplementalCIImages: {}\n");
        let after = commit(&format!(
            "supplementalCIImages:\n  ci/app:v1:\n    image: {}/org/app:v1\n",
            source.addr
        ));
        let api = Api::start();
        api.serve_repository(&workspace, None);
        Push {
            _dir: dir,
            workspace,
            payload: serde_json::json!({
                "ref": "refs/heads/main", "before": before, "after": after, "deleted": false,
                "repository": {"full_name": "openshift/release", "default_branch": "main"},
            }),
            api,
            source,
            target,
            digest,
        }
    }

    fn target_repository(&self) -> String {
        format!("{}/openshift/ci", self.target.addr)
    }

    /// Runs the push in `root` with the action's settings for these registries and `extra`.
    fn run(&self, root: &ImageRoot, extra: &[(&str, &str)]) -> (i32, String, String) {
        let api_url = self.api.server.uri();
        let target_repository = self.target_repository();
        let env: Vec<(&str, &str)> = [
            ("GITHUB_API_URL", api_url.as_str()),
            ("QCI_GITHUB_TOKEN", "ghs_image-root-token"),
            ("QCI_TARGET_REPOSITORY", target_repository.as_str()),
            ("QCI_PLAIN_HTTP", self.source.addr.as_str()),
            ("QCI_TARGET_USERNAME", "pusher"),
            ("QCI_TARGET_PASSWORD", "push-secret-9"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
        root.run_action("push", &self.payload, &env)
    }

    /// The push mirrored the one entry, digest-exact.
    fn assert_mirrored(&self, outputs: &str) {
        let mirrored = format!("mirrored=[\"{}:ci_app_v1\"]\n", self.target_repository());
        assert!(outputs.contains(&mirrored), "{outputs}");
        assert_eq!(
            self.target.served_digest("openshift/ci:ci_app_v1"),
            self.digest
        );
    }
}

#[test]
fn a_push_mirrors_into_a_tls_registry_trusting_the_ca_file_input() {
    let push = Push::new();
    let ca = push.target.ca_file.clone().unwrap();
    std::fs::copy(&ca, push.workspace.join("test-ca.pem")).unwrap();
    let root = ImageRoot::new(&push.workspace, None);

    // Without the CA the target's certificate is refused: TLS is really verified.
    let (code, log, _) = push.run(&root, &[]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("certificate"), "{log}");

    let (code, log, outputs) = push.run(&root, &[("QCI_CA_FILE", "test-ca.pem")]);
    assert_eq!(code, 0, "{log}");
    push.assert_mirrored(&outputs);
    // The password is masked before anything else about the target, and never printed.
    assert_eq!(log.matches("push-secret-9").count(), 1, "{log}");
    assert!(log.contains("::add-mask::push-secret-9\n"), "{log}");
}

#[test]
fn a_push_trusts_the_image_ca_bundle_at_its_standard_path() {
    let push = Push::new();
    // The test CA in the image's own bundle, and no ca_file: the binary must read the bundle
    // where distroless keeps it.
    let root = ImageRoot::new(&push.workspace, push.target.ca_file.as_deref());
    let (code, log, outputs) = push.run(&root, &[]);
    assert_eq!(code, 0, "{log}");
    push.assert_mirrored(&outputs);
}
