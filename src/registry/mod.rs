//! Registry access on oci-client: clients for sources and the target, and digest lookups.
//!
//! Two clients, because oci-client keys credentials by registry host and keeps the first it is
//! given: most sources are on quay.io, the same host as the target, and need other credentials
//! (usually none) than the target's push robot.

pub mod auth;

use auth::AuthFile;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::path::PathBuf;

/// How to reach registries.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `host:port`s spoken to over plain HTTP (for tests); everything else is HTTPS.
    pub plain_http: Vec<String>,
    /// A PEM bundle of extra CA certificates (`--ca-file`); `SSL_CERT_FILE` also works.
    pub ca_file: Option<PathBuf>,
}

/// Credentials for reading sources and for the target.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// Logins from auth files, by host or repository prefix.
    pub auth_file: AuthFile,
    /// Explicit credentials for the target repository, which win over the auth file.
    pub target: Option<RegistryAuth>,
}

impl Credentials {
    /// Every secret held, for `::add-mask::` in GitHub Actions.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = self.auth_file.secrets();
        match &self.target {
            Some(RegistryAuth::Basic(_, password)) => secrets.push(password.clone()),
            Some(RegistryAuth::Bearer(token)) => secrets.push(token.clone()),
            _ => {}
        }
        secrets
    }

    /// The credentials for a source image.
    pub fn for_source(&self, image: &Reference) -> RegistryAuth {
        self.auth_file
            .lookup(image.registry(), image.repository())
            .unwrap_or(RegistryAuth::Anonymous)
    }

    /// The credentials for the target repository.
    pub fn for_target(&self, image: &Reference) -> RegistryAuth {
        self.target
            .clone()
            .unwrap_or_else(|| self.for_source(image))
    }
}

/// Builds a client for reading; fails on a bad CA file rather than quietly using defaults
/// (oci-client's `Client::new` would).
pub fn client(connection: &Connection) -> Result<Client, String> {
    build(connection, false)
}

/// Builds the client that writes to the target. It pushes each blob in one request with its
/// size: oci-client's chunked push sends one PATCH per stream item (512 for 200 MiB, 3.8×
/// slower; registries.md gap 1).
pub fn push_client(connection: &Connection) -> Result<Client, String> {
    build(connection, true)
}

fn build(connection: &Connection, monolithic_push: bool) -> Result<Client, String> {
    let mut config = oci_client::client::ClientConfig {
        use_monolithic_push: monolithic_push,
        protocol: if connection.plain_http.is_empty() {
            oci_client::client::ClientProtocol::Https
        } else {
            oci_client::client::ClientProtocol::HttpsExcept(connection.plain_http.clone())
        },
        ..Default::default()
    };
    if let Some(path) = &connection.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the CA file `{}`: {e}", path.display()))?;
        // oci-client accepts garbage PEM silently; an empty trust store is better caught here.
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!("`{}` holds no PEM certificate", path.display()));
        }
        config
            .extra_root_certificates
            .push(oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Pem,
                data: pem,
            });
    }
    Client::try_from(config).map_err(|e| format!("cannot set up the registry client: {e}"))
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

/// The digest of `image`'s manifest, by a HEAD request that accepts every manifest media type
/// (so a multi-platform index is compared as a whole, never one platform's child).
pub async fn manifest_digest(client: &Client, image: &Reference, auth: &RegistryAuth) -> Lookup {
    match client.fetch_manifest_digest(image, auth).await {
        Ok(digest) => Lookup::Found(digest),
        Err(error) => classify(&error),
    }
}

/// What a failed manifest lookup means.
pub fn classify(error: &OciDistributionError) -> Lookup {
    match error {
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                Lookup::Absent
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                Lookup::Unauthorized
            } else {
                Lookup::Failed(error.to_string())
            }
        }
        OciDistributionError::ServerError { code: 404, .. }
        | OciDistributionError::ImageManifestNotFoundError(_) => Lookup::Absent,
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        }
        | OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => Lookup::Unauthorized,
        other => Lookup::Failed(error_chain(other)),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
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
