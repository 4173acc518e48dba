//! Why a registry request failed, told apart by what a retry can change.

use super::*;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// 401 or 403 even after logging in with what we have.
    #[error("access denied by {url} (HTTP {status})")]
    Denied {
        /// The request URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// The login handshake itself failed (for example, a wrong password).
    #[error("cannot log in to {registry}: {reason}")]
    Login {
        /// The registry host.
        registry: String,
        /// What the handshake said.
        reason: String,
    },
    /// Any other unexpected status.
    #[error("HTTP {status} from {url}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The registry's error messages, when it sent any.
        message: Option<String>,
        /// The registry's error codes (the distribution spec's `DIGEST_INVALID`, …): what to
        /// act on, where the messages are only for people.
        codes: Vec<String>,
        /// How long the registry asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The connection failed or broke.
    #[error("{0}")]
    Transport(String),
    /// TLS refused the registry: its certificate is not one we trust, and asking again will
    /// not change that.
    #[error("{0}")]
    Untrusted(String),
    /// The answer was not what the protocol promises (a digest mismatch, a bad header).
    #[error("{0}")]
    Invalid(String),
    /// The answer is larger than anything of its kind may be; asking again will not shrink it.
    #[error("{url}: the {what} is larger than {limit} bytes")]
    TooLarge {
        /// The request URL.
        url: String,
        /// What was being read.
        what: &'static str,
        /// The most we read.
        limit: usize,
    },
}

impl HttpError {
    /// Whether trying again may succeed: 408, 429, 5xx, transport failures, and bytes that
    /// did not match their digest (corrupted on the way).
    pub fn is_temporary(&self) -> bool {
        match self {
            HttpError::Status { status, .. } => {
                matches!(status, 408 | 429) || (500..=599).contains(status)
            }
            HttpError::Transport(_) => true,
            HttpError::Untrusted(_) => false,
            HttpError::Invalid(_) => true,
            HttpError::Denied { .. } | HttpError::Login { .. } | HttpError::TooLarge { .. } => {
                false
            }
        }
    }

    /// The wait the registry asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub(super) fn transport(error: &reqwest::Error) -> HttpError {
    if tls_refusal(error) {
        HttpError::Untrusted(error_chain(error))
    } else {
        HttpError::Transport(error_chain(error))
    }
}

/// Whether rustls refused the connection: its error sits inside an `io::Error` somewhere down
/// the chain, where `source()` does not reach (an `io::Error` hands out its inner error's
/// source, not the inner error), so each `io::Error` is opened by hand.
pub(super) fn tls_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        if current.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && (inner.is::<rustls::Error>() || tls_refusal(inner))
        {
            return true;
        }
        next = current.source();
    }
    false
}
