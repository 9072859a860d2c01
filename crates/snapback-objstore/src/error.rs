//! Typed errors, what a store's failure means for a run (the reason a diagnostic names), and
//! keeping credentials out of every message.

use std::collections::BTreeSet;
use std::sync::Arc;

/// What went wrong with a store, a URL or its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ObjstoreError {
    #[error("{url}: not a store URL: {why}")]
    BadUrl { url: String, why: String },
    #[error("{url}: cannot set up the client: {detail}")]
    Config { url: String, detail: String },
    #[error("{at}: {reason}: {detail}")]
    Request {
        /// The object or prefix URL.
        at: String,
        reason: &'static str,
        /// What the store said, credentials removed.
        detail: String,
    },
    #[error("cannot start the object store runtime: {0}")]
    Runtime(String),
}

impl ObjstoreError {
    /// The summary's key for it (`object-denied`, …), for a request.
    pub fn reason(&self) -> &'static str {
        match self {
            ObjstoreError::Request { reason, .. } => reason,
            ObjstoreError::BadUrl { .. } => "bad-url",
            ObjstoreError::Config { .. } => "store-config",
            ObjstoreError::Runtime(_) => "store-runtime",
        }
    }
}

/// What a request was for: reasons differ for a listing and an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    List,
    Get,
}

/// The reason key for a failure of `op`, from the store's error. `object_store` maps 404,
/// 401/403 and 412 to variants; throttling (429, 503 SlowDown) and other statuses survive
/// only in the message of its retry error, after its retries and backoff ran out.
pub(crate) fn reason_of(op: Op, e: &object_store::Error) -> &'static str {
    use object_store::Error as E;
    let denied = matches!(e, E::PermissionDenied { .. } | E::Unauthenticated { .. })
        || status_in(&e.to_string()).is_some_and(|s| s == 401 || s == 403);
    let missing = matches!(e, E::NotFound { .. });
    let throttled = status_in(&e.to_string()).is_some_and(|s| s == 429 || s == 503)
        || e.to_string().contains("SlowDown");
    match (op, denied, missing, throttled) {
        (Op::List, true, _, _) => "list-denied",
        (Op::List, _, true, _) => "list-missing",
        (Op::List, _, _, true) => "list-throttled",
        (Op::List, ..) => "list-failed",
        (Op::Get, true, _, _) => "object-denied",
        (Op::Get, _, true, _) => "object-missing",
        (Op::Get, _, _, true) => "object-throttled",
        (Op::Get, ..) if matches!(e, E::Precondition { .. }) => "object-changed",
        (Op::Get, ..) => "object-unreadable",
    }
}

/// The HTTP status a message of `object_store`'s retry error names
/// (`… status code: 403 Forbidden …`), or `None`.
pub(crate) fn status_in(message: &str) -> Option<u16> {
    let at = message.find("status code: ")? + "status code: ".len();
    message.get(at..at + 3)?.parse().ok()
}

/// The secrets of a run's configuration (keys, tokens, SAS signatures, the key in a
/// connection string): every message that leaves this crate is passed through
/// [`Secrets::redact`], so that none of them reaches a diagnostic, a log or the output,
/// whatever a store or a library puts in its errors.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Arc<BTreeSet<String>>);

impl Secrets {
    /// The secrets named by these values (short ones are ignored: a 1-character "secret"
    /// would blank every message).
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Secrets {
        let mut set = BTreeSet::new();
        for v in values {
            let v = v.trim().to_owned();
            if v.len() >= 8 {
                // A SAS token's signature also appears URL-encoded, and a key in base64.
                set.insert(crate::gcs_json::encode(&v));
                for part in v.split('&') {
                    if let Some(sig) = part.strip_prefix("sig=") {
                        set.insert(sig.to_owned());
                    }
                }
                set.insert(v);
            }
        }
        Secrets(Arc::new(set))
    }

    /// `message` with every secret replaced by `[redacted]`, and the query string of every
    /// URL in it (where SAS tokens and presigned signatures travel) removed.
    pub fn redact(&self, message: &str) -> String {
        let mut out = strip_queries(message);
        // Longest first: a secret that contains another is removed whole.
        let mut secrets: Vec<&String> = self.0.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        // A store's own error body stays short in a diagnostic.
        if out.len() > 600 {
            let mut cut = 600;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str(" […]");
        }
        out
    }
}

/// `http(s)://host/path?query` → `http(s)://host/path?[query removed]`.
fn strip_queries(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("http") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let end = from
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '>' || c == '<')
            .unwrap_or(from.len());
        let url = &from[..end];
        match url.split_once('?') {
            Some((base, _)) if url.starts_with("http://") || url.starts_with("https://") => {
                out.push_str(base);
                out.push_str("?[query removed]");
            }
            _ => out.push_str(url),
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_queries_never_survive_a_message() {
        let secrets = Secrets::new([
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
            "sv=2024-01-01&sig=AbC%2Bdef123456789".to_owned(),
            "short".to_owned(),
        ]);
        let msg = "Error performing GET http://127.0.0.1:1/c/b?sv=2024&sig=AbC%2Bdef123456789 \
                   - key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and \
                   wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY, short stays";
        let out = secrets.redact(msg);
        assert!(!out.contains("EXAMPLEKEY"), "{out}");
        assert!(!out.contains("AbC%2B"), "{out}");
        assert!(
            out.contains("http://127.0.0.1:1/c/b?[query removed]"),
            "{out}"
        );
        assert!(out.contains("short stays"), "{out}");
    }

    #[test]
    fn a_status_is_read_from_the_retry_message() {
        assert_eq!(
            status_in("Server returned non-2xx status code: 403 Forbidden: <Error>"),
            Some(403)
        );
        assert_eq!(status_in("connection refused"), None);
    }
}
