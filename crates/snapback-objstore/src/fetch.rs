//! Reading objects: streamed GETs on the crate's runtime, each handed to a reading thread as a
//! blocking [`Read`] through a small bounded channel, so that an object is never held whole
//! and a fetch that runs ahead of its reader waits (TCP backpressure) instead of buffering.
//! A stream that breaks is resumed with a ranged GET from the bytes already handed on,
//! pinned to the version listed (If-Match on the ETag; the generation on GCS).

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};
use snapback_ingest::RemoteObject;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::connect::Retries;
use crate::error::{reason_of, Op, Secrets};
use crate::gcs_json::GcsJson;
use crate::listing::Failure;
use crate::url::Cloud;

/// Chunks buffered per object ahead of its reader (a chunk is what one read of the
/// connection gave, usually 8–64 KiB).
const CHUNKS_AHEAD: usize = 4;
/// Resumes of a broken stream before the object is given up.
const RESUMES: u32 = 3;

type Chunk = Result<Bytes, Failure>;

/// The fetches of one store: started ahead by `prefetch`, taken by `open`.
pub(crate) struct Fetches {
    runtime: Handle,
    source: Source,
    cloud: Cloud,
    secrets: Secrets,
    retries: Retries,
    started: Mutex<HashMap<Arc<str>, mpsc::Receiver<Chunk>>>,
    /// Keys ever started: a prefetch of an object already read starts nothing.
    seen: Mutex<HashSet<Arc<str>>>,
}

impl Fetches {
    pub(crate) fn new(
        runtime: Handle,
        source: Source,
        cloud: Cloud,
        secrets: Secrets,
        retries: Retries,
    ) -> Fetches {
        Fetches {
            runtime,
            source,
            cloud,
            secrets,
            retries,
            started: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// Start the GETs of the objects not started yet.
    pub(crate) fn prefetch(&self, objects: &[RemoteObject]) {
        for o in objects {
            let new = self
                .seen
                .lock()
                .map(|mut s| s.insert(o.key.clone()))
                .unwrap_or(false);
            if new {
                let rx = self.start(o);
                if let Ok(mut m) = self.started.lock() {
                    m.insert(o.key.clone(), rx);
                }
            }
        }
    }

    /// The object's bytes as they arrive; a failure before the first byte is returned.
    /// Must not be called on the runtime's own threads (it blocks).
    pub(crate) fn open(&self, o: &RemoteObject) -> Result<Body, Failure> {
        let taken = self.started.lock().ok().and_then(|mut m| m.remove(&o.key));
        let mut rx = match taken {
            Some(rx) => rx,
            None => {
                if let Ok(mut s) = self.seen.lock() {
                    s.insert(o.key.clone());
                }
                self.start(o)
            }
        };
        match rx.blocking_recv() {
            None => Ok(Body {
                rx,
                current: Bytes::new(),
            }),
            Some(Err(f)) => Err(f),
            Some(Ok(first)) => Ok(Body { rx, current: first }),
        }
    }

    fn start(&self, o: &RemoteObject) -> mpsc::Receiver<Chunk> {
        let (tx, rx) = mpsc::channel(CHUNKS_AHEAD);
        let get = Get {
            source: self.source.clone(),
            key: o.key.clone(),
            pin: Pin::of(self.cloud, o),
            secrets: self.secrets.clone(),
            retries: self.retries,
        };
        self.runtime.spawn(get.run(tx));
        rx
    }
}

/// What pins a GET to the version listed.
#[derive(Clone)]
enum Pin {
    ETag(String),
    Version(String),
    None,
}

impl Pin {
    fn of(cloud: Cloud, o: &RemoteObject) -> Pin {
        match (cloud, &o.etag, &o.version) {
            // GCS's JSON ETag is not the XML API's: its generation pins the version.
            (Cloud::Gcs, _, Some(v)) => Pin::Version(v.to_string()),
            (Cloud::Gcs, _, None) => Pin::None,
            (_, Some(e), _) => Pin::ETag(e.to_string()),
            (_, None, _) => Pin::None,
        }
    }
}

/// Where objects are read from: `object_store` (S3, Azure), or the GCS JSON API.
#[derive(Clone)]
pub(crate) enum Source {
    Store(Arc<dyn ObjectStore>),
    Gcs(Arc<GcsJson>),
}

type ByteStream = BoxStream<'static, Result<Bytes, String>>;

impl Source {
    /// The object's bytes from `from` on, pinned, as a stream; a failure before the first
    /// byte (after the retries) is returned.
    async fn open(&self, key: &str, pin: &Pin, from: u64) -> Result<ByteStream, Failure> {
        match self {
            Source::Store(store) => {
                let path = Path::parse(key).map_err(|e| Failure {
                    reason: "object-unreadable",
                    detail: format!("the client cannot name this key: {e}"),
                })?;
                let mut options = GetOptions {
                    range: (from > 0).then_some(GetRange::Offset(from)),
                    ..GetOptions::default()
                };
                match pin {
                    Pin::ETag(e) => options.if_match = Some(e.clone()),
                    Pin::Version(v) => options.version = Some(v.clone()),
                    Pin::None => {}
                }
                let result = store.get_opts(&path, options).await.map_err(|e| Failure {
                    reason: reason_of(Op::Get, &e),
                    detail: e.to_string(),
                })?;
                Ok(result.into_stream().map_err(|e| e.to_string()).boxed())
            }
            Source::Gcs(gcs) => {
                let version = match pin {
                    Pin::Version(v) => Some(v.as_str()),
                    _ => None,
                };
                let response = gcs.media(key, version, from).await?;
                Ok(response.bytes_stream().map_err(|e| e.to_string()).boxed())
            }
        }
    }
}

struct Get {
    source: Source,
    key: Arc<str>,
    pin: Pin,
    secrets: Secrets,
    retries: Retries,
}

impl Get {
    async fn run(self, tx: mpsc::Sender<Chunk>) {
        let mut sent: u64 = 0;
        let mut resumes = 0;
        loop {
            let mut stream = match self.source.open(&self.key, &self.pin, sent).await {
                Ok(s) => s,
                Err(f) => {
                    let detail = self.secrets.redact(&f.detail);
                    let _ = tx
                        .send(Err(Failure {
                            reason: f.reason,
                            detail,
                        }))
                        .await;
                    return;
                }
            };
            let broke = loop {
                match stream.next().await {
                    None => return,
                    Some(Ok(b)) => {
                        sent += b.len() as u64;
                        if tx.send(Ok(b)).await.is_err() {
                            return; // the reader is gone
                        }
                    }
                    Some(Err(e)) => break e,
                }
            };
            if resumes >= RESUMES {
                let detail = format!(
                    "the stream broke at byte {sent}, {RESUMES} resumes failed: {}",
                    self.secrets.redact(&broke)
                );
                let _ = tx
                    .send(Err(Failure {
                        reason: "object-unreadable",
                        detail,
                    }))
                    .await;
                return;
            }
            resumes += 1;
            tokio::time::sleep(self.retries.first_backoff * 2u32.pow(resumes)).await;
        }
    }
}

/// An object's bytes for a reading thread.
pub struct Body {
    rx: mpsc::Receiver<Chunk>,
    current: Bytes,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current[..n]);
                let _ = self.current.split_to(n);
                return Ok(n);
            }
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(b)) => self.current = b,
                Some(Err(f)) => return Err(io::Error::other(f.detail)),
            }
        }
    }
}
