//! Settings every command shares: where openshift/release keeps the config, and registry
//! credentials from the environment (never from flags or inputs, which end up in logs).

use crate::registry::{
    Credentials,
    auth::{AuthFile, AuthFileError},
};
use oci_client::secrets::RegistryAuth;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where openshift/release keeps the config.
pub const DEFAULT_CONFIG_PATH: &str = "core-services/image-mirroring/_config.yaml";

/// In GitHub Actions, every secret we hold, for the runner to hide before anything else is
/// printed: secrets from `secrets.*` are masked by the runner, but not values derived from them
/// or read from files. Outside Actions, nothing.
pub fn secrets_to_mask(credentials: &Credentials, env: &HashMap<String, String>) -> Vec<String> {
    if env.get("GITHUB_ACTIONS").map(String::as_str) == Some("true") {
        credentials.secrets()
    } else {
        Vec::new()
    }
}

/// Why the credentials in the environment cannot be used. No variant carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The auth file named by a flag or a variable cannot be read.
    #[error("cannot read the auth file `{}`: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The auth file or `QCI_REGISTRY_AUTH` is not a usable auth file.
    #[error(transparent)]
    AuthFile(#[from] AuthFileError),
    /// Half a login: a user name without a password, or the other way round.
    #[error("set both {prefix}_USERNAME and {prefix}_PASSWORD, or {prefix}_TOKEN")]
    HalfALogin {
        /// `QCI_TARGET` or `QCI_APP_CI`.
        prefix: &'static str,
    },
}

fn given<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a String> {
    env.get(name).filter(|v| !v.is_empty())
}

/// Registry credentials: source logins from the auth file `flag` or the environment, the
/// target's from `QCI_TARGET_*`, and those of `app_ci_registry` (for `qciToAppCIImages`) from
/// `QCI_APP_CI_*`.
pub fn credentials(
    flag: Option<&Path>,
    env: &HashMap<String, String>,
    app_ci_registry: &str,
) -> Result<Credentials, CredentialsError> {
    Ok(Credentials {
        auth_file: auth_file(flag, env)?,
        target: explicit_login(env, "QCI_TARGET")?,
        app_ci: explicit_login(env, "QCI_APP_CI")?.map(|auth| (app_ci_registry.to_owned(), auth)),
    })
}

/// Source logins: `flag`, else `QCI_REGISTRY_AUTH`, `REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json`.
fn auth_file(
    flag: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<AuthFile, CredentialsError> {
    let read = |path: &Path| -> Result<AuthFile, CredentialsError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CredentialsError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(AuthFile::parse(&text, &format!("`{}`", path.display()))?)
    };
    if let Some(path) = flag {
        return read(path);
    }
    if let Some(json) = given(env, "QCI_REGISTRY_AUTH") {
        return Ok(AuthFile::parse(json, "QCI_REGISTRY_AUTH")?);
    }
    if let Some(path) = given(env, "REGISTRY_AUTH_FILE") {
        return read(Path::new(path));
    }
    match given(env, "DOCKER_CONFIG").map(|dir| Path::new(dir).join("config.json")) {
        Some(path) if path.exists() => read(&path),
        _ => Ok(AuthFile::default()),
    }
}

/// A login from `{prefix}_TOKEN`, or `{prefix}_USERNAME` with `{prefix}_PASSWORD`.
fn explicit_login(
    env: &HashMap<String, String>,
    prefix: &'static str,
) -> Result<Option<RegistryAuth>, CredentialsError> {
    match (
        given(env, &format!("{prefix}_TOKEN")),
        given(env, &format!("{prefix}_USERNAME")),
        given(env, &format!("{prefix}_PASSWORD")),
    ) {
        (Some(token), _, _) => Ok(Some(RegistryAuth::Bearer(token.clone()))),
        (None, Some(user), Some(password)) => {
            Ok(Some(RegistryAuth::Basic(user.clone(), password.clone())))
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            Err(CredentialsError::HalfALogin { prefix })
        }
        (None, None, None) => Ok(None),
    }
}
