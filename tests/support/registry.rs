//! Real registries for tests: the CNCF distribution registry (Debian `docker-registry`) on
//! loopback with temporary storage, and synthetic images pushed with skopeo.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running registry, stopped when dropped.
pub struct LocalRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `user:password`, for a registry with htpasswd authentication.
    pub credentials: Option<String>,
    /// The CA (PEM) that signed the registry's certificate, for a TLS registry.
    pub ca_file: Option<std::path::PathBuf>,
    storage: tempfile::TempDir,
}

impl LocalRegistry {
    /// Starts a plain-HTTP, anonymous registry. A missing `docker-registry` fails the test:
    /// `scripts/test` installs it.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a registry speaking TLS with a certificate from a fresh test CA, that lets in
    /// only `user` with `password` (htpasswd, bcrypt).
    pub fn start_tls(user: &str, password: &str) -> Self {
        Self::start_with(Some((user, password)))
    }

    /// Starts a plain-HTTP registry that takes Bearer tokens from `tokens`, as quay.io does.
    pub fn start_with_tokens(tokens: &super::token_server::TokenServer) -> Self {
        let auth = format!(
            "auth: {{token: {{realm: \"{}\", service: {}, issuer: {}, rootcertbundle: {}}}}}\n",
            tokens.realm,
            super::token_server::SERVICE,
            super::token_server::ISSUER,
            tokens.root_cert.display()
        );
        Self::start_configured(None, Some(auth))
    }

    fn start_with(login: Option<(&str, &str)>) -> Self {
        Self::start_configured(login, None)
    }

    fn start_configured(login: Option<(&str, &str)>, token_auth: Option<String>) -> Self {
        let storage = tempfile::tempdir().unwrap();
        let security =
            login.map(|(user, password)| tls_and_htpasswd(storage.path(), user, password));
        let auth = token_auth
            .or_else(|| security.as_ref().map(|s| s.auth.clone()))
            .unwrap_or_default();
        for _attempt in 0..5 {
            // Ask the kernel for a free port, then hand it to the registry: a short race that
            // the retry covers.
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr = format!("127.0.0.1:{port}");
            let config = storage.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: {addr}, secret: fixed-test-secret{}}}\n{}",
                    storage.path().join("data").display(),
                    security.as_ref().map_or(String::new(), |s| s.http.clone()),
                    auth,
                ),
            )
            .unwrap();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("docker-registry must be installed (scripts/test installs it)");
            if wait_until_ready(&mut child, &addr, security.is_some()) {
                return LocalRegistry {
                    child,
                    addr,
                    credentials: login.map(|(user, password)| format!("{user}:{password}")),
                    ca_file: security.map(|s| s.ca_file),
                    storage,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start on loopback after 5 attempts");
    }
}

fn wait_until_ready(child: &mut Child, addr: &str, tls: bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false; // it exited: probably the port was taken meanwhile
        }
        // A TLS registry is ready once it accepts connections; a plain one must answer.
        let ready = if tls {
            TcpStream::connect(addr).is_ok()
        } else {
            // 401: the registry is up and asks for a token.
            matches!(http_get_status(addr, "/v2/"), Some(200 | 401))
        };
        if ready {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The registry config lines and files for TLS with htpasswd.
struct Security {
    http: String,
    auth: String,
    ca_file: std::path::PathBuf,
}

/// Runs a tool in `dir` and returns its output; a missing tool or a failure fails the test.
pub fn run_tool(program: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test installs it): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A self-signed certificate and its key, `NAME.pem` and `NAME.key` in `dir`.
pub fn self_signed(dir: &Path, name: &str, subject: &str) {
    let (key, cert) = (format!("{name}.key"), format!("{name}.pem"));
    run_tool(
        "openssl",
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &cert,
            "-days", "2", "-subj", subject,
        ],
        dir,
    );
}

fn tls_and_htpasswd(dir: &Path, user: &str, password: &str) -> Security {
    let days = ["-days", "2"];
    self_signed(dir, "ca", "/CN=qci-mirror test CA");
    run_tool(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        dir,
    );
    // rustls and Go ignore the CN: the address must be in the subjectAltName.
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run_tool(
        "openssl",
        &[
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-extfile",
                "server.ext",
            ][..],
            &days,
        ]
        .concat(),
        dir,
    );
    // The registry accepts bcrypt hashes only.
    let line = run_tool("htpasswd", &["-Bbn", user, password], dir);
    std::fs::write(dir.join("htpasswd"), line).unwrap();
    Security {
        http: format!(
            ", tls: {{certificate: {}, key: {}}}",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        ),
        auth: format!(
            "auth: {{htpasswd: {{realm: qci-test, path: {}}}}}\n",
            dir.join("htpasswd").display()
        ),
        ca_file: dir.join("ca.pem"),
    }
}

/// The status code of a plain GET, or `None` when nothing answers.
fn http_get_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a blob into an OCI layout and returns its descriptor parts.
fn put_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let hex = sha256_hex(bytes);
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    (format!("sha256:{hex}"), bytes.len())
}

/// Deterministic pseudo-random bytes (xorshift), so every image is distinct per seed.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Size of every synthetic layer.
pub const LAYER_SIZE: usize = 2048;

fn image_manifest(layout: &Path, seed: u64, arch: &str, base: Option<u64>) -> (String, usize) {
    let mut layers = Vec::new();
    // A shared base layer first, as real images share their distribution's base.
    for layer_seed in base.into_iter().chain([seed]) {
        layers.push(put_blob(layout, &random_bytes(layer_seed, LAYER_SIZE)));
    }
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.0.clone()).collect::<Vec<_>>()},
    });
    let (config_digest, config_size) = put_blob(layout, config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": layers.iter().map(|(digest, size)| serde_json::json!(
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size}
        )).collect::<Vec<_>>(),
    });
    put_blob(layout, manifest.to_string().as_bytes())
}

/// How a synthetic image is built and pushed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageSpec {
    /// Seed of the image's own layer(s) and config.
    pub seed: u64,
    /// More than one: an index (or manifest list) with this many platforms.
    pub platforms: usize,
    /// Seed of a base layer shared with other images.
    pub base: Option<u64>,
    /// Push as Docker schema 2 (manifest or manifest list) instead of OCI.
    pub docker: bool,
    /// The architecture of a single image (`amd64` when not given).
    pub arch: Option<&'static str>,
    /// An index of exactly these architectures, however few, instead of `platforms`.
    pub index_of: Option<&'static [&'static str]>,
}

/// Pushes a synthetic image (one platform, or an OCI index of `platforms` > 1) built from
/// `seed` to `addr/repository:tag` and returns the digest the registry serves, as skopeo sees it.
pub fn push_image(addr: &str, repository_tag: &str, seed: u64, platforms: usize) -> String {
    push(
        addr,
        repository_tag,
        ImageSpec {
            seed,
            platforms,
            ..ImageSpec::default()
        },
    )
}

impl LocalRegistry {
    /// Pushes a synthetic image to this registry, with its credentials.
    pub fn push(&self, repository_tag: &str, spec: ImageSpec) -> String {
        push_with(
            &self.addr,
            self.credentials.as_deref(),
            repository_tag,
            spec,
        )
    }

    /// The digest this registry serves for `repository:tag`, read with its credentials.
    pub fn served_digest(&self, repository_tag: &str) -> String {
        format!(
            "sha256:{}",
            sha256_hex(&raw_manifest(
                &self.addr,
                self.credentials.as_deref(),
                repository_tag
            ))
        )
    }
}

/// Pushes a synthetic image described by `spec`; returns the digest the registry serves.
pub fn push(addr: &str, repository_tag: &str, spec: ImageSpec) -> String {
    push_with(addr, None, repository_tag, spec)
}

fn push_with(
    addr: &str,
    credentials: Option<&str>,
    repository_tag: &str,
    spec: ImageSpec,
) -> String {
    let ImageSpec {
        seed,
        platforms,
        base,
        docker,
        arch,
        index_of,
    } = spec;
    let arches: Vec<&str> = index_of.map_or_else(
        || {
            ["amd64", "arm64", "ppc64le", "s390x"]
                .into_iter()
                .take(platforms)
                .collect()
        },
        <[&str]>::to_vec,
    );
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path();
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let (top, media_type, size) = if index_of.is_none() && platforms <= 1 {
        let (digest, size) = image_manifest(layout, seed, arch.unwrap_or("amd64"), base);
        (digest, "application/vnd.oci.image.manifest.v1+json", size)
    } else {
        let children: Vec<serde_json::Value> = arches
            .iter()
            .enumerate()
            .map(|(i, arch)| {
                let (digest, size) = image_manifest(layout, seed * 10 + i as u64, arch, base);
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest, "size": size,
                    "platform": {"architecture": arch, "os": "linux"},
                })
            })
            .collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": children,
        });
        let (digest, size) = put_blob(layout, index.to_string().as_bytes());
        (digest, "application/vnd.oci.image.index.v1+json", size)
    };
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": media_type, "digest": top, "size": size,
        "annotations": {"org.opencontainers.image.ref.name": "latest"},
    }]});
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    let mut copy = Command::new("skopeo");
    copy.args(["copy", "--quiet", "--all", "--dest-tls-verify=false"]);
    if let Some(credentials) = credentials {
        copy.args(["--dest-creds", credentials]);
    }
    if docker {
        // skopeo 1.9 cannot read Docker-typed entries from an OCI layout: it converts instead.
        copy.args(["--format", "v2s2"]);
    } else {
        copy.arg("--preserve-digests");
    }
    let status = copy
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{addr}/{repository_tag}"))
        .status()
        .expect("skopeo must be installed (scripts/test installs it)");
    assert!(
        status.success(),
        "skopeo copy to {addr}/{repository_tag} failed"
    );
    let raw = raw_manifest(addr, credentials, repository_tag);
    let served = format!("sha256:{}", sha256_hex(&raw));
    let media_type = serde_json::from_slice::<serde_json::Value>(&raw).unwrap()["mediaType"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if docker {
        assert!(
            media_type.starts_with("application/vnd.docker."),
            "{media_type}"
        );
    } else {
        assert_eq!(
            served, top,
            "the registry serves the manifest byte for byte"
        );
    }
    served
}

fn raw_manifest(addr: &str, credentials: Option<&str>, repository_tag: &str) -> Vec<u8> {
    let mut inspect = Command::new("skopeo");
    inspect.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some(credentials) = credentials {
        inspect.args(["--creds", credentials]);
    }
    let output = inspect
        .arg(format!("docker://{addr}/{repository_tag}"))
        .output()
        .expect("skopeo must be installed");
    assert!(
        output.status.success(),
        "skopeo inspect {addr}/{repository_tag} failed"
    );
    output.stdout
}

/// The digest of what the registry serves for `repository:tag`, computed by skopeo's raw bytes.
pub fn served_digest(addr: &str, repository_tag: &str) -> String {
    format!(
        "sha256:{}",
        sha256_hex(&raw_manifest(addr, None, repository_tag))
    )
}
