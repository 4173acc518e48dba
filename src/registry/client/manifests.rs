//! Manifests: HEAD, GET (bounded, checked against a pinned digest), PUT, and tag lists.

use super::*;

/// Manifests larger than this are refused (distribution's own limit is 4 MiB).
pub(super) const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Tags asked for per page of a tag list.
pub(super) const TAGS_PER_PAGE: usize = 1_000;

/// The most pages of a tag list read: half a million tags.
pub(super) const MAX_TAG_PAGES: usize = 500;

/// What a manifest HEAD tells without the manifest's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestHead {
    /// `sha256:…`.
    pub digest: String,
    /// The `Content-Type`, without parameters, when the registry sent one.
    pub media_type: Option<String>,
}

pub(super) fn digest_header(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `sha256:<hex>` of `bytes`.
pub(super) fn sha256_digest(bytes: &[u8]) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(bytes);
    hex_digest(hasher)
}

impl RegistryClient {
    /// The digest of `image`'s manifest from one HEAD accepting every manifest type (so an
    /// index is compared as a whole), or `None` when the tag or repository does not exist.
    pub async fn manifest_digest(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<Option<String>, HttpError> {
        Ok(self
            .manifest_head(image, auth)
            .await?
            .map(|head| head.digest))
    }

    /// What one HEAD of `image`'s manifest says (accepting every manifest type), or `None` when
    /// the tag or repository does not exist.
    pub async fn manifest_head(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<Option<ManifestHead>, HttpError> {
        let (url, answer) = self
            .request_manifest(reqwest::Method::HEAD, image, auth)
            .await?;
        let response = match answer {
            Answer::Ok(response) => response,
            Answer::NotFound => return Ok(None),
        };
        let media_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let Some(digest) = digest_header(&response) else {
            // Registries that keep the digest to themselves get the GET the spec allows.
            return self
                .manifest(image, auth)
                .await
                .map(|(_, digest)| Some(ManifestHead { digest, media_type }));
        };
        if let Some(pinned) = image.digest()
            && pinned != digest
        {
            return Err(HttpError::Invalid(format!(
                "{url} answered with digest {digest}, not the pinned {pinned}"
            )));
        }
        Ok(Some(ManifestHead { digest, media_type }))
    }

    /// The raw bytes of `image`'s manifest and their digest, checked against the pinned digest
    /// when `image` has one.
    pub async fn manifest(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<(Bytes, String), HttpError> {
        let (url, answer) = self
            .request_manifest(reqwest::Method::GET, image, auth)
            .await?;
        let response = match answer {
            Answer::Ok(response) => response,
            Answer::NotFound => {
                return Err(not_found(url, Some("manifest unknown")));
            }
        };
        let Body::Whole(bytes) = read_body(response, MAX_MANIFEST_BYTES).await? else {
            return Err(HttpError::TooLarge {
                url,
                what: "manifest",
                limit: MAX_MANIFEST_BYTES,
            });
        };
        let digest = sha256_digest(&bytes);
        if let Some(pinned) = image.digest()
            && pinned != digest
        {
            return Err(HttpError::Invalid(format!(
                "{url}: the manifest's bytes hash to {digest}, not {pinned}"
            )));
        }
        Ok((bytes, digest))
    }

    /// A HEAD or GET of `image`'s manifest accepting every manifest type; the URL for messages.
    pub(super) async fn request_manifest(
        &self,
        method: reqwest::Method,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<(String, Answer), HttpError> {
        let url = self.url(image, "manifests", &tag_or_digest(image));
        let request = |http: &reqwest::Client| {
            Some(
                http.request(method.clone(), &url)
                    .header(http::header::ACCEPT, media::ACCEPTED.join(", "))
                    .timeout(self.small_timeout),
            )
        };
        let answer = self
            .send(image, auth, Access::Pull, Slots::Take, request)
            .await?;
        Ok((url, answer))
    }

    /// Every tag of `image`'s repository, page by page as the registry hands them out (each
    /// page at most 4 MiB, at most 500 pages of 1,000).
    pub async fn tags(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<Vec<String>, HttpError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut tags = Vec::new();
        let mut url = format!("{}?n={TAGS_PER_PAGE}", self.url(image, "tags", "list"));
        for _ in 0..MAX_TAG_PAGES {
            let request = |http: &reqwest::Client| Some(http.get(&url).timeout(self.small_timeout));
            let response = match self
                .send(image, auth, Access::Pull, Slots::Take, request)
                .await?
            {
                Answer::Ok(response) => response,
                Answer::NotFound => return Ok(tags),
            };
            // `Link: </v2/<name>/tags/list?n=1000&last=x>; rel="next"`, relative to the host.
            let next = response
                .headers()
                .get(http::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(|link| {
                    let (target, params) = link.split_once(';')?;
                    params.contains("rel=\"next\"").then(|| {
                        target
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_owned()
                    })
                });
            let Body::Whole(body) = read_body(response, MAX_MANIFEST_BYTES).await? else {
                return Err(HttpError::TooLarge {
                    url,
                    what: "tag list page",
                    limit: MAX_MANIFEST_BYTES,
                });
            };
            let page: Page = serde_json::from_slice(&body)
                .map_err(|e| HttpError::Invalid(format!("{url}: the tag list is not JSON: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) if next.starts_with('/') => url = format!("{}{next}", self.base(image)),
                Some(next) if next.starts_with(&self.base(image)) => url = next,
                _ => return Ok(tags),
            }
        }
        Err(HttpError::Invalid(format!(
            "{url}: the tag list goes on past {MAX_TAG_PAGES} pages of {TAGS_PER_PAGE}"
        )))
    }

    /// Pushes manifest `bytes` of `media_type` to `image` (a tag or a digest) exactly as given,
    /// and returns the digest the registry says it stored, when it says.
    pub async fn put_manifest(
        &self,
        image: &Reference,
        bytes: Bytes,
        media_type: &str,
        auth: &RegistryAuth,
    ) -> Result<Option<String>, HttpError> {
        let url = self.url(image, "manifests", &tag_or_digest(image));
        let request = |http: &reqwest::Client| {
            Some(
                http.put(&url)
                    .header(http::header::CONTENT_TYPE, media_type)
                    .body(bytes.clone())
                    .timeout(self.small_timeout),
            )
        };
        match self
            .send(image, auth, Access::Push, Slots::Take, request)
            .await?
        {
            Answer::Ok(response) => Ok(digest_header(&response)),
            Answer::NotFound => Err(not_found(url, Some("the repository does not exist"))),
        }
    }
}
