//! Logins: what oci-client's handshake grants, remembered per repository and access, renewed
//! once on a 401; token endpoints from `WWW-Authenticate` challenges; tokens for mounts.

use super::*;

/// What a login granted for one repository. Never printed: `Debug` hides the secrets.
#[derive(Clone)]
pub(super) enum Grant {
    Nothing,
    Basic(String, String),
    Bearer(String),
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grant::Nothing => "Nothing",
            Grant::Basic(..) => "Basic(<redacted>)",
            Grant::Bearer(_) => "Bearer(<redacted>)",
        })
    }
}

impl Grant {
    pub(super) fn as_given(auth: &RegistryAuth) -> Self {
        match auth {
            RegistryAuth::Anonymous => Grant::Nothing,
            RegistryAuth::Basic(user, password) => Grant::Basic(user.clone(), password.clone()),
            RegistryAuth::Bearer(token) => Grant::Bearer(token.clone()),
        }
    }
}

pub(super) type GrantCell = Arc<OnceCell<Grant>>;

/// What a grant lets us do: read, or read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Access {
    Pull,
    Push,
    /// No credentials at all: a request to another host than the registry's.
    Anonymous,
}

/// (registry, repository, source repository).
pub(super) type MountPair = (String, String, String);

/// A token registry's token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TokenService {
    pub(super) realm: String,
    pub(super) service: Option<String>,
}

/// The token endpoint in a `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
pub(super) fn bearer_challenge(header: &str) -> Option<TokenService> {
    let challenges = http_auth::parse_challenges(header).ok()?;
    let bearer = challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("Bearer"))?;
    let param = |name: &str| {
        bearer
            .params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.to_unescaped())
    };
    Some(TokenService {
        realm: param("realm")?,
        service: param("service"),
    })
}

impl RegistryClient {
    pub(super) fn key(image: &Reference, access: Access) -> (String, String, Access) {
        (
            image.resolve_registry().to_owned(),
            image.repository().to_owned(),
            access,
        )
    }

    pub(super) fn forget(&self, image: &Reference, access: Access, stale: &GrantCell) {
        let key = Self::key(image, access);
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        if grants
            .get(&key)
            .is_some_and(|cell| Arc::ptr_eq(cell, stale))
        {
            grants.remove(&key);
        }
        self.tokenless_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(image.resolve_registry());
    }

    /// The grant for `image`'s repository, logging in once per repository and access
    /// (concurrent callers wait for the same handshake, made under a host slot). A caller
    /// holding a slot never waits, neither for a slot nor for another caller's handshake
    /// (which may itself be waiting for a slot): it logs in by itself.
    pub(super) async fn grant(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        access: Access,
        slots: Slots,
    ) -> Result<(GrantCell, Grant), HttpError> {
        let registry = image.resolve_registry();
        let cell = {
            let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(grants.entry(Self::key(image, access)).or_default())
        };
        let tokenless = self
            .tokenless_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(registry);
        if tokenless {
            return Ok((cell, Grant::as_given(auth)));
        }
        if slots == Slots::Held {
            if let Some(grant) = cell.get() {
                return Ok((Arc::clone(&cell), grant.clone()));
            }
            let grant = self.log_in(image, auth, access).await?;
            let _ = cell.set(grant.clone());
            return Ok((cell, grant));
        }
        let grant = cell
            .get_or_try_init(|| async {
                let _slot = self.hosts.enter(registry).await;
                self.log_in(image, auth, access).await
            })
            .await?
            .clone();
        Ok((cell, grant))
    }

    /// One handshake through oci-client: a token, or what to send without one.
    pub(super) async fn log_in(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        access: Access,
    ) -> Result<Grant, HttpError> {
        let registry = image.resolve_registry();
        let operation = match access {
            Access::Push => RegistryOperation::Push,
            Access::Pull | Access::Anonymous => RegistryOperation::Pull,
        };
        let started = std::time::Instant::now();
        let login = tokio::time::timeout(
            self.small_timeout,
            self.handshake.auth(image, auth, operation),
        )
        .await;
        // What the handshake gave, never the token itself.
        let given = match &login {
            Ok(Ok(Some(_))) => "a token".to_owned(),
            Ok(Ok(None)) => "no token (credentials as given)".to_owned(),
            Ok(Err(error)) => format!("an error: {}", error_chain(error)),
            Err(_) => "no answer in time".to_owned(),
        };
        tracing::debug!(
            "{registry}: login for {} ({operation:?}) gave {given} in {} ms",
            image.repository(),
            started.elapsed().as_millis()
        );
        let Ok(login) = login else {
            return Err(HttpError::Transport(format!(
                "{registry} did not finish the login within {} s",
                self.small_timeout.as_secs()
            )));
        };
        match login {
            Ok(Some(token)) => Ok(Grant::Bearer(token)),
            // No token: the registry takes Basic credentials as they are, or asks for nothing
            // at all; the same holds for its other repositories.
            Ok(None) => {
                self.tokenless_hosts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(registry.to_owned());
                Ok(Grant::as_given(auth))
            }
            // Not reaching the registry is not a failed login: it may pass on a retry.
            Err(OciDistributionError::RequestError(error)) => Err(transport(&error)),
            Err(error) => Err(HttpError::Login {
                registry: registry.to_owned(),
                reason: error_chain(&error),
            }),
        }
    }

    /// The token endpoint a registry names in its `/v2/` challenge, asked once per host.
    pub(super) async fn token_service(
        &self,
        image: &Reference,
    ) -> Result<Option<TokenService>, HttpError> {
        let registry = image.resolve_registry();
        let cell = {
            let mut services = self
                .token_services
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            Arc::clone(services.entry(registry.to_owned()).or_default())
        };
        cell.get_or_try_init(|| async {
            let response = {
                let _slot = self.hosts.enter(registry).await;
                self.http
                    .get(format!("{}/v2/", self.base(image)))
                    .timeout(self.small_timeout)
                    .send()
                    .await
                    .map_err(|e| transport(&e))?
            };
            Ok(response
                .headers()
                .get_all(http::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(bearer_challenge))
        })
        .await
        .cloned()
    }

    /// A token for pushing to `image`'s repository and reading `from`, in one.
    pub(super) async fn mount_token(
        &self,
        image: &Reference,
        from: &str,
        auth: &RegistryAuth,
    ) -> Result<String, HttpError> {
        let registry = image.resolve_registry();
        let cell = {
            let key = (
                registry.to_owned(),
                image.repository().to_owned(),
                from.to_owned(),
            );
            let mut tokens = self.mount_tokens.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(tokens.entry(key).or_default())
        };
        cell.get_or_try_init(|| async {
            let service = self
                .token_service(image)
                .await?
                .ok_or_else(|| HttpError::Login {
                    registry: registry.to_owned(),
                    reason: "it hands out no tokens".to_owned(),
                })?;
            let mut query = vec![
                (
                    "scope",
                    format!("repository:{}:pull,push", image.repository()),
                ),
                ("scope", format!("repository:{from}:pull")),
            ];
            if let Some(name) = &service.service {
                query.push(("service", name.clone()));
            }
            let mut request = self
                .http
                .get(&service.realm)
                .query(&query)
                .timeout(self.small_timeout);
            if let RegistryAuth::Basic(user, password) = auth {
                request = request.basic_auth(user, Some(password));
            }
            let response = request.send().await.map_err(|e| transport(&e))?;
            let status = response.status().as_u16();
            let body = match read_body(response, MAX_SMALL_BODY_BYTES).await? {
                Body::Whole(body) => body,
                Body::TooLarge => Bytes::new(),
            };
            #[derive(serde::Deserialize)]
            struct TokenAnswer {
                token: Option<String>,
                access_token: Option<String>,
            }
            let answer = (status == 200)
                .then(|| serde_json::from_slice::<TokenAnswer>(&body).ok())
                .flatten()
                .and_then(|a| a.token.or(a.access_token));
            answer.ok_or_else(|| HttpError::Login {
                registry: registry.to_owned(),
                reason: format!("the token service answered HTTP {status} for a mount token"),
            })
        })
        .await
        .cloned()
    }
}
