//! Registry credentials from the environment: docker/podman auth files (or their JSON in a
//! variable) with per-repository keys, plus explicit credentials for the target repository.
//!
//! Parsed here rather than with `docker_credential`, which matches repository-scoped keys only
//! exactly and reports errors without the file name.

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use std::collections::HashMap;

/// What is wrong with auth-file JSON, and where, without the value there: serde's own message
/// quotes it (`invalid type: string "<base64>"`), and the value may be a credential.
fn shape_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Syntax => "malformed JSON",
        Category::Eof => "the JSON ends early",
        Category::Io => "it could not be read",
        Category::Data => {
            "a value of the wrong kind (`auths` maps each registry to an object with `auth`, or `username` and `password`)"
        }
    };
    format!("{what} at line {}, column {}", error.line(), error.column())
}

/// Credentials of one `auths` entry.
#[derive(Clone, PartialEq, Eq)]
struct Login {
    username: String,
    password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({}, <redacted>)", self.username)
    }
}

/// Logins by key: a registry host (`quay.io`) or a repository prefix (`quay.io/openshift/ci`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthFile {
    logins: HashMap<String, Login>,
    /// The `auth` values as written, which need not be the canonical base64 of the login.
    auths_as_given: Vec<String>,
}

#[derive(serde::Deserialize)]
struct RawAuthFile {
    #[serde(default)]
    auths: HashMap<String, RawLogin>,
}

#[derive(serde::Deserialize)]
struct RawLogin {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Why an auth file is refused. No variant carries a value from the file, only where it is:
/// an auth file is secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFileError {
    /// Not JSON of the docker/podman shape; `problem` gives the line and column.
    #[error("{origin} is not a valid auth file: {problem}")]
    Shape {
        /// The file or variable.
        origin: String,
        /// Where and what, without the value.
        problem: String,
    },
    /// An `auth` that is not base64 of `user:password`.
    #[error("{origin}: the `auth` of `{key}` is not base64 of `user:password`")]
    NotALogin {
        /// The file or variable.
        origin: String,
        /// The registry key it is under.
        key: String,
    },
}

impl AuthFile {
    /// Parses auth-file JSON; `origin` names it in errors (a path or a variable, never content).
    pub fn parse(json: &str, origin: &str) -> Result<Self, AuthFileError> {
        let raw: RawAuthFile = serde_json::from_str(json).map_err(|e| AuthFileError::Shape {
            origin: origin.to_owned(),
            problem: shape_error(&e),
        })?;
        let mut logins = HashMap::new();
        let mut auths_as_given = Vec::new();
        for (key, entry) in raw.auths {
            auths_as_given.extend(entry.auth.clone().filter(|auth| !auth.is_empty()));
            let login = match (entry.auth, entry.username, entry.password) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    decode_auth(&auth).ok_or_else(|| AuthFileError::NotALogin {
                        origin: origin.to_owned(),
                        key: key.clone(),
                    })?
                }
                (_, Some(username), Some(password)) => Login { username, password },
                _ => continue, // e.g. an entry served by a credential helper
            };
            logins.insert(normalize_key(&key), login);
        }
        Ok(AuthFile {
            logins,
            auths_as_given,
        })
    }

    /// Every secret in the file, for `::add-mask::`: passwords, and the base64 `auth` values a
    /// debug dump of a request could show.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = self.auths_as_given.clone();
        for login in self.logins.values() {
            secrets.push(login.password.clone());
            secrets.push(
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", login.username, login.password)),
            );
        }
        secrets.sort();
        secrets.dedup();
        secrets
    }

    /// The credentials for `registry/repository`: the longest matching key wins
    /// (`quay.io/openshift/ci`, then `quay.io/openshift`, then `quay.io`), as podman does.
    pub fn lookup(&self, registry: &str, repository: &str) -> Option<RegistryAuth> {
        let full = format!("{registry}/{repository}");
        let mut candidate = full.as_str();
        loop {
            if let Some(login) = self.logins.get(candidate) {
                return Some(RegistryAuth::Basic(
                    login.username.clone(),
                    login.password.clone(),
                ));
            }
            candidate = candidate.rsplit_once('/')?.0;
        }
    }
}

fn decode_auth(auth: &str) -> Option<Login> {
    // Docker writes padded base64; some tools do not.
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth.trim()))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(Login {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

/// `https://index.docker.io/v1/` → `docker.io`; `quay.io/` → `quay.io`.
fn normalize_key(key: &str) -> String {
    let key = key
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let key = key.strip_suffix("/v1").unwrap_or(key);
    match key {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> Option<RegistryAuth> {
        Some(RegistryAuth::Basic(user.to_owned(), password.to_owned()))
    }

    #[test]
    fn the_longest_key_wins() {
        let file = AuthFile::parse(
            r#"{"auths": {
                "quay.io": {"auth": "aG9zdDpwdw=="},
                "quay.io/openshift/ci": {"username": "robot", "password": "secret"},
                "https://index.docker.io/v1/": {"auth": "ZDpw"},
                "helper.example.com": {}
            }}"#,
            "test",
        )
        .unwrap();
        assert_eq!(
            file.lookup("quay.io", "openshift/ci"),
            basic("robot", "secret")
        );
        assert_eq!(
            file.lookup("quay.io", "openshift/other"),
            basic("host", "pw")
        );
        assert_eq!(file.lookup("docker.io", "library/nginx"), basic("d", "p"));
        assert_eq!(file.lookup("ghcr.io", "x/y"), None);
        assert_eq!(file.lookup("helper.example.com", "x"), None);
    }

    #[test]
    fn errors_name_the_origin_and_never_the_content() {
        let error = AuthFile::parse(r#"{"auths": {"q": {"auth": "!!!"}}}"#, "QCI_REGISTRY_AUTH")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("QCI_REGISTRY_AUTH: the `auth` of `q`"),
            "{error}"
        );
        let error = AuthFile::parse("hunter2", "/run/secret/auth.json")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("/run/secret/auth.json is not a valid auth file"),
            "{error}"
        );
        assert!(!error.contains("hunter2"));
        let login = format!(
            "{:?}",
            AuthFile::parse(
                r#"{"auths":{"q":{"username":"u","password":"hunter2"}}}"#,
                "t"
            )
            .unwrap()
        );
        assert!(!login.contains("hunter2"), "{login}");
    }
}
