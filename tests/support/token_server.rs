//! A small Bearer-token server for the registry's token authentication, as quay.io, ghcr.io and
//! Docker Hub do it: the registry answers 401 with a `WWW-Authenticate: Bearer realm=…` challenge,
//! the client asks this server for a JWT for the scopes it needs, and the registry checks the
//! JWT's signature against the certificate it was configured with. Tokens are signed RS256 with
//! the `openssl` command, so no crypto crate is needed.

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// One issued token: who asked, and for what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The user, or `None` for an anonymous request.
    pub user: Option<String>,
    /// Scopes granted, like `repository:ci:pull,push`.
    pub scopes: Vec<String>,
}

/// The running server.
pub struct TokenServer {
    /// `http://127.0.0.1:PORT/token`.
    pub realm: String,
    /// The certificate bundle the registry must trust (`auth.token.rootcertbundle`).
    pub root_cert: PathBuf,
    /// Every token issued.
    pub issued: Arc<Mutex<Vec<Issued>>>,
}

/// The `service` and `issuer` names shared with the registry's config.
pub const SERVICE: &str = "qci-test-registry";
/// See [`SERVICE`].
pub const ISSUER: &str = "qci-test-issuer";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TokenServer {
    /// Starts a server on `runtime` that gives `user`/`password` every action it asks for and
    /// anonymous requests `pull` on repositories under `public/`, with tokens valid for
    /// `lifetime_seconds`.
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        dir: &Path,
        user: &str,
        password: &str,
        lifetime_seconds: u64,
    ) -> Self {
        super::registry::self_signed(dir, "token", "/CN=qci-test-token-signer");
        let der = super::registry::run_tool(
            "openssl",
            &["x509", "-in", "token.pem", "-outform", "DER"],
            dir,
        );
        let x5c = base64::engine::general_purpose::STANDARD.encode(der);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        let issued = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            dir: dir.to_owned(),
            x5c,
            expected: format!("{user}:{password}"),
            lifetime_seconds,
            issued: Arc::clone(&issued),
        });
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(state.answer(&request)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TokenServer {
            realm,
            root_cert: dir.join("token.pem"),
            issued,
        }
    }
}

struct State {
    dir: PathBuf,
    x5c: String,
    expected: String,
    lifetime_seconds: u64,
    issued: Arc<Mutex<Vec<Issued>>>,
}

type Body = http_body_util::combinators::BoxBody<bytes::Bytes, Infallible>;

fn respond(status: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)).boxed())
        .unwrap()
}

impl State {
    fn answer(&self, request: &Request<hyper::body::Incoming>) -> Response<Body> {
        let login = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .and_then(|v| String::from_utf8(v).ok());
        let user = match login {
            Some(login) if login == self.expected => Some(
                login
                    .split_once(':')
                    .map_or(login.clone(), |(u, _)| u.to_owned()),
            ),
            Some(_) => return respond(401, r#"{"details":"bad credentials"}"#.to_owned()),
            None => None,
        };
        let query = request.uri().query().unwrap_or_default();
        let mut access = Vec::new();
        let mut scopes = Vec::new();
        for (key, value) in url_pairs(query) {
            if key != "scope" {
                continue;
            }
            // `type:name:actions`, where the name may hold `:` (a port): split on the first
            // and the last colon.
            let Some((kind, rest)) = value.split_once(':') else {
                continue;
            };
            let Some((name, actions)) = rest.rsplit_once(':') else {
                continue;
            };
            let granted: Vec<&str> = actions
                .split(',')
                .filter(|a| user.is_some() || (*a == "pull" && name.starts_with("public/")))
                .collect();
            scopes.push(format!("{kind}:{name}:{}", granted.join(",")));
            access.push(serde_json::json!({"type": kind, "name": name, "actions": granted}));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]});
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": user.clone().unwrap_or_default(), "aud": SERVICE,
            "iat": now, "nbf": now - 10, "exp": now + self.lifetime_seconds,
            "jti": format!("{now}-{}", self.issued.lock().unwrap().len()), "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = sign(&self.dir, signing_input.as_bytes());
        let token = format!("{signing_input}.{}", b64url(&signature));
        self.issued.lock().unwrap().push(Issued { user, scopes });
        respond(
            200,
            serde_json::json!({"token": token, "access_token": token, "expires_in": self.lifetime_seconds})
                .to_string(),
        )
    }
}

fn sign(dir: &Path, input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign", "token.key"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    output.stdout
}

/// `a=1&scope=x%3Ay` → pairs, percent-decoded.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
