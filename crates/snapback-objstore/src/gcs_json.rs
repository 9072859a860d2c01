//! Listing and reading a GCS bucket through the JSON API (`objects.list`, `objects.get`
//! with `alt=media`), with the credentials of `object_store`'s GCS client (service account,
//! application default credentials, workload identity, the metadata server).
//!
//! Why not `object_store`'s own GCS requests: they use the XML API, whose listing
//! (`list-type=2`) the emulator does not serve (404) and whose downloads it answers without
//! the `ETag` header `object_store` requires, so that path could never be tested here. The
//! JSON API is GCS's primary API; Cloud Storage and the emulator both serve it.

use std::time::{Duration, Instant};

use object_store::gcp::GoogleCloudStorage;
use serde::Deserialize;

use crate::connect::Retries;
use crate::error::{status_in, ObjstoreError, Op, Secrets};
use crate::listing::{Failure, ObjectEntry, Page};
use crate::url::StoreUrl;

const GCS_BASE: &str = "https://storage.googleapis.com";

pub(crate) struct GcsJson {
    http: reqwest::Client,
    /// `…/storage/v1/b/<bucket>/o`
    endpoint: String,
    credentials: Option<object_store::gcp::GcpCredentialProvider>,
    retries: Retries,
    secrets: Secrets,
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    name: String,
    #[serde(default)]
    size: Option<String>,
    etag: Option<String>,
    generation: Option<String>,
    updated: Option<String>,
}

impl GcsJson {
    /// `emulator`: the emulator's base URL (`STORAGE_EMULATOR_HOST`): no credentials.
    pub(crate) fn new(
        gcs: &GoogleCloudStorage,
        url: &StoreUrl,
        emulator: Option<String>,
        retries: Retries,
        secrets: Secrets,
    ) -> Result<GcsJson, ObjstoreError> {
        let base = emulator.clone().unwrap_or_else(|| {
            std::env::var("GOOGLE_BASE_URL")
                .ok()
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| GCS_BASE.to_owned())
        });
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ObjstoreError::Config {
                url: url.to_string(),
                detail: secrets.redact(&e.to_string()),
            })?;
        Ok(GcsJson {
            http,
            endpoint: format!(
                "{}/storage/v1/b/{}/o",
                base.trim_end_matches('/'),
                encode(&url.bucket)
            ),
            credentials: emulator.is_none().then(|| gcs.credentials().clone()),
            retries,
            secrets,
        })
    }

    /// The objects under `prefix` (and, with `delimited`, its folders), after the key
    /// `after` when given, every page.
    pub(crate) async fn list(
        &self,
        prefix: &str,
        delimited: bool,
        after: Option<&str>,
    ) -> Result<Page, Failure> {
        let mut page = Page::default();
        let mut token: Option<String> = None;
        loop {
            let mut query = format!("?prefix={}", encode(prefix));
            if delimited {
                query.push_str("&delimiter=%2F");
            }
            if let Some(a) = after {
                // Inclusive on the server; the key itself is dropped below.
                query.push_str(&format!("&startOffset={}", encode(a)));
            }
            if let Some(t) = &token {
                query.push_str(&format!("&pageToken={}", encode(t)));
            }
            let body = self.get(&format!("{}{query}", self.endpoint)).await?;
            let response: ListResponse = serde_json::from_slice(&body).map_err(|e| Failure {
                reason: "list-failed",
                detail: format!("the JSON API's answer is not a listing: {e}"),
            })?;
            page.folders.extend(response.prefixes);
            page.objects
                .extend(response.items.into_iter().map(Item::into_entry));
            match response.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        if let Some(a) = after {
            page.objects.retain(|o| o.key.as_str() > a);
        }
        Ok(page)
    }

    /// The bytes of the object `key` from byte `from` on (its generation `version` when
    /// given), as a response to stream: `objects.get?alt=media`.
    pub(crate) async fn media(
        &self,
        key: &str,
        version: Option<&str>,
        from: u64,
    ) -> Result<reqwest::Response, Failure> {
        let mut url = format!("{}/{}?alt=media", self.endpoint, encode(key));
        if let Some(g) = version {
            url.push_str(&format!("&generation={}", encode(g)));
        }
        self.send(&url, from, Op::Get).await
    }

    /// One GET, body whole.
    async fn get(&self, url: &str) -> Result<Vec<u8>, Failure> {
        let response = self.send(url, 0, Op::List).await?;
        let body = response.bytes().await.map_err(|e| Failure {
            reason: "list-failed",
            detail: self.secrets.redact(&e.to_string()),
        })?;
        Ok(body.to_vec())
    }

    /// One GET (from byte `from`), retried with backoff on throttling, server errors and
    /// broken connections, until a success status.
    async fn send(&self, url: &str, from: u64, op: Op) -> Result<reqwest::Response, Failure> {
        let started = Instant::now();
        let mut backoff = self.retries.first_backoff;
        let mut tries = 0;
        loop {
            let outcome = self.try_send(url, from).await;
            let retry = match &outcome {
                Err((Some(s), _)) => *s == 429 || *s >= 500,
                Err((None, _)) => true,
                Ok(_) => false,
            };
            let spent = started.elapsed() + backoff > self.retries.give_up_after;
            if !retry || tries >= self.retries.max_retries || spent {
                return outcome.map_err(|(status, detail)| Failure {
                    reason: reason_of_status(op, status),
                    detail: self.secrets.redact(&match tries {
                        0 => detail,
                        n => format!("{detail} (after {n} retries)"),
                    }),
                });
            }
            tries += 1;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.retries.max_backoff);
        }
    }

    async fn try_send(
        &self,
        url: &str,
        from: u64,
    ) -> Result<reqwest::Response, (Option<u16>, String)> {
        let mut request = self.http.get(url);
        if from > 0 {
            request = request.header("range", format!("bytes={from}-"));
        }
        if let Some(c) = &self.credentials {
            let token = c
                .get_credential()
                .await
                .map_err(|e| (status_in(&e.to_string()), e.to_string()))?;
            request = request.bearer_auth(&token.bearer);
        }
        let response = request.send().await.map_err(|e| (None, e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        Err((
            Some(status.as_u16()),
            format!("GCS JSON API: status {status}: {text}"),
        ))
    }
}

fn reason_of_status(op: Op, status: Option<u16>) -> &'static str {
    match (op, status) {
        (Op::List, Some(401 | 403)) => "list-denied",
        (Op::List, Some(404)) => "list-missing",
        (Op::List, Some(429 | 503)) => "list-throttled",
        (Op::List, _) => "list-failed",
        (Op::Get, Some(401 | 403)) => "object-denied",
        (Op::Get, Some(404)) => "object-missing",
        (Op::Get, Some(429 | 503)) => "object-throttled",
        (Op::Get, _) => "object-unreadable",
    }
}

impl Item {
    fn into_entry(self) -> ObjectEntry {
        ObjectEntry {
            size: self.size.and_then(|s| s.parse().ok()).unwrap_or(0),
            etag: self.etag,
            version: self.generation,
            last_modified: self.updated.and_then(|u| u.parse().ok()),
            key: self.name,
        }
    }
}

/// Percent-encoding of a query value or path segment (everything but unreserved bytes).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
