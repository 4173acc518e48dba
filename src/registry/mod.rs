//! Registry access: a [`Session`] holds everything one run uses to talk to registries.
//!
//! Requests go through [`client::RegistryClient`], one for the sources and one for the target,
//! each logging in through its own oci-client client. The two are kept apart because oci-client
//! keeps logins per host (the first stored wins): most sources are on quay.io, the same host as
//! the target, and need other credentials (usually none) than the target's push robot.

pub mod auth;
pub mod client;
pub mod hosts;
pub mod media;
pub mod retry;

use auth::AuthFile;
use base64::Engine;
use client::{HttpError, RegistryClient};
use hosts::Hosts;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use retry::RetryPolicy;
use std::path::PathBuf;
use std::sync::Arc;

/// How a source that is not there reads, in plans and mirror runs alike.
pub const SOURCE_ABSENT: &str = "the source does not exist (no such repository or tag)";
/// How a source behind a login we do not have reads, in plans and mirror runs alike.
pub const SOURCE_PRIVATE: &str =
    "the source needs credentials we do not have; private images cannot be mirrored";

/// Why the registry clients could not be set up: nothing was sent anywhere yet.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The CA file could not be read.
    #[error("cannot read the CA file `{path}`: {source}")]
    CaFileUnreadable {
        /// The file given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA file holds no certificate.
    #[error("`{0}` holds no PEM certificate")]
    CaFileNotPem(PathBuf),
    /// The TLS or HTTP stack refused the settings.
    #[error("cannot set up the {what}: {reason}")]
    Client {
        /// Which client.
        what: &'static str,
        /// What it said.
        reason: String,
    },
}

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct Connection {
    /// `host:port`s spoken to over plain HTTP (for tests); everything else is HTTPS.
    pub plain_http: Vec<String>,
    /// A PEM bundle of extra CA certificates (`--ca-file`); `SSL_CERT_FILE` also works.
    pub ca_file: Option<PathBuf>,
    /// The longest a request may wait for a connection or for its next bytes: a registry that
    /// accepts a connection and then says nothing fails after this, not never. Small requests
    /// (logins, manifests, checks) also end after twice this in all.
    pub idle_timeout: std::time::Duration,
}

/// The default [`Connection::idle_timeout`]: long enough for a slow registry under load.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for Connection {
    fn default() -> Self {
        Connection {
            plain_http: Vec::new(),
            ca_file: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Credentials for reading sources and for the target.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// Logins from auth files, by host or repository prefix.
    pub auth_file: AuthFile,
    /// Explicit credentials for the target repository, which win over the auth file.
    pub target: Option<RegistryAuth>,
    /// Explicit credentials for the app.ci registry (its host, then the login) that
    /// `qciToAppCIImages` entries are copied back into, which win there.
    pub app_ci: Option<(String, RegistryAuth)>,
}

impl Credentials {
    /// Every secret held, for `::add-mask::` in GitHub Actions.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = self.auth_file.secrets();
        let explicit = self
            .target
            .iter()
            .chain(self.app_ci.iter().map(|(_, auth)| auth));
        for auth in explicit {
            match auth {
                RegistryAuth::Basic(username, password) => {
                    secrets.push(password.clone());
                    // How the password travels in a basic `Authorization` header.
                    secrets.push(
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{username}:{password}")),
                    );
                }
                RegistryAuth::Bearer(token) => secrets.push(token.clone()),
                RegistryAuth::Anonymous => {}
            }
        }
        secrets
    }

    /// The credentials for a source image.
    pub fn for_source(&self, image: &Reference) -> RegistryAuth {
        self.auth_file
            .lookup(image.registry(), image.repository())
            .unwrap_or(RegistryAuth::Anonymous)
    }

    /// The credentials for writing `image`: app.ci's for its registry, else the target's.
    pub fn for_target(&self, image: &Reference) -> RegistryAuth {
        match &self.app_ci {
            Some((host, auth)) if image.registry() == host => auth.clone(),
            _ => self
                .target
                .clone()
                .unwrap_or_else(|| self.for_source(image)),
        }
    }
}

impl Connection {
    /// The extra CA bundle, checked: oci-client accepts garbage PEM silently, and an empty
    /// trust store is better caught here than as a TLS error per request.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, SetupError> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let pem = std::fs::read(path).map_err(|source| SetupError::CaFileUnreadable {
            path: path.clone(),
            source,
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(SetupError::CaFileNotPem(path.clone()));
        }
        Ok(Some(pem))
    }
}

/// Everything one run uses to talk to registries: credentials, per-host limits, the retry
/// budget, and a client for each side.
#[derive(Debug)]
pub struct Session {
    /// Who we are where.
    pub credentials: Credentials,
    /// Per-host request limits and pauses, shared by every request of the run.
    pub hosts: Arc<Hosts>,
    /// Retries for temporary failures, with one budget for the run.
    pub retry: RetryPolicy,
    /// Reads sources.
    pub sources: RegistryClient,
    /// Reads and writes the target repository.
    pub target: RegistryClient,
    /// How long any request may go without progress ([`Connection::idle_timeout`]).
    pub idle_timeout: std::time::Duration,
}

impl Session {
    /// A session with at most `host_limit` requests in flight per registry host.
    pub fn new(
        connection: &Connection,
        credentials: Credentials,
        host_limit: usize,
    ) -> Result<Self, SetupError> {
        let hosts = Arc::new(Hosts::new(host_limit));
        Ok(Session {
            credentials,
            retry: RetryPolicy::default(),
            sources: RegistryClient::new(connection, build(connection)?, Arc::clone(&hosts))?,
            target: RegistryClient::new(connection, build(connection)?, Arc::clone(&hosts))?,
            hosts,
            idle_timeout: connection.idle_timeout,
        })
    }

    /// A session whose 401s are final (see [`RegistryClient::without_login_renewal`]).
    #[must_use]
    pub fn without_login_renewal(mut self) -> Self {
        self.sources = self.sources.without_login_renewal();
        self.target = self.target.without_login_renewal();
        self
    }

    /// Replaces the default retry policy (tests use short delays).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// Builds an oci-client client; fails on a bad CA file rather than quietly using defaults
/// (oci-client's `Client::new` would).
fn build(connection: &Connection) -> Result<Client, SetupError> {
    crate::install_tls_provider();
    let mut config = oci_client::client::ClientConfig {
        protocol: if connection.plain_http.is_empty() {
            oci_client::client::ClientProtocol::Https
        } else {
            oci_client::client::ClientProtocol::HttpsExcept(connection.plain_http.clone())
        },
        // The login handshake goes through this client: it must not wait forever either.
        read_timeout: Some(connection.idle_timeout),
        connect_timeout: Some(connection.idle_timeout),
        ..Default::default()
    };
    if let Some(pem) = connection.ca_pem()? {
        config
            .extra_root_certificates
            .push(oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Pem,
                data: pem,
            });
    }
    Client::try_from(config).map_err(|e| SetupError::Client {
        what: "registry client",
        reason: e.to_string(),
    })
}

/// What a manifest lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The manifest exists with this digest.
    Found(String),
    /// No such tag or repository.
    Absent,
    /// Authentication was required and what we had was not enough (a private image).
    Unauthorized,
    /// Anything else: network, TLS, server errors.
    Failed(String),
}

impl From<Result<Option<String>, HttpError>> for Lookup {
    fn from(result: Result<Option<String>, HttpError>) -> Self {
        match result {
            Ok(Some(digest)) => Lookup::Found(digest),
            Ok(None) => Lookup::Absent,
            Err(HttpError::Denied { .. }) => Lookup::Unauthorized,
            Err(error) => Lookup::Failed(error.to_string()),
        }
    }
}

/// An error with its causes, each said once.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
