//! Reading audit logs where the clouds deliver them: `s3://` (CloudTrail), `az://` (the
//! Activity Log's storage export), `gs://` (a Cloud Logging sink), with no copy to disk.
//!
//! This crate owns every name of Apache Arrow's `object_store` and of the async runtime it
//! needs (tokio, reqwest), and nothing else of snapback depends on them: the rest of the
//! house is synchronous (rayon), so the runtime lives here and the crate offers a blocking
//! API. A [`Store`] lists and reads one URL's bucket; an [`ObjectInput`] is a
//! [`snapback_ingest::RemoteInput`], so the objects go through the same opening (gzip by
//! its magic bytes, streamed), framing, prefilter and decoders as files, on the same reading
//! threads, with the object URL as provenance.
//!
//! ```no_run
//! use std::sync::Arc;
//! use snapback_ingest::{read_inputs, IngestOptions, Input, TimeWindow};
//! use snapback_objstore::{ObjectInput, StoreOptions};
//!
//! let window = TimeWindow::parse(Some("2026-03-01"), Some("2026-03-14")).unwrap();
//! let input = ObjectInput::open("s3://trail/AWSLogs/", window, &StoreOptions::default()).unwrap();
//! let options = IngestOptions { window, ..IngestOptions::default() };
//! read_inputs(&[Input::Remote(Arc::new(input))], &options,
//!     &mut |e| println!("{} {}", e.provenance.file, e.operation), &mut |d| eprintln!("{d}"));
//! ```
//!
//! Why each part is as it is:
//!
//! - **Listing is pruned by the layout's dates** ([`layout`]): with `--since/--until`, a
//!   folder `2019/` of a CloudTrail prefix is never listed, so a two-week scan of a ten-year
//!   bucket lists two weeks (plus a day each side for delivery delay). Folders are listed
//!   several at a time.
//! - **Objects are streamed, a bounded number at a time**: the reader asks for the next
//!   batch ahead ([`snapback_ingest::RemoteInput::prefetch`]), each GET feeds a channel of a
//!   few chunks, so memory is bounded by objects in flight × chunks, whatever their size.
//! - **A failure is a diagnostic, never the end of the run**: throttling and server errors are
//!   retried with backoff (`object_store`'s `RetryConfig`, [`Retries`]); a denied, missing
//!   or still-throttled object becomes a located diagnostic (`object-denied`, …) and the
//!   rest is read.
//! - **Credentials never leave**: every message is passed through [`Secrets::redact`]
//!   (the credentials of the environment and the shared files, and URL query strings).
//! - **For `watch`** (not wired yet): [`Store::list_after`] lists a layout partition
//!   ([`partition_of`]) after the last key seen, and every [`ObjectEntry`] carries its
//!   ETag, so known objects are skipped without a GET.

#![forbid(unsafe_code)]

mod connect;
mod error;
mod fetch;
mod gcs_json;
pub mod layout;
mod listing;
mod url;

#[cfg(feature = "emulators")]
pub mod emulators;

use std::io::Read;
use std::sync::OnceLock;

use snapback_ingest::{RemoteInput, RemoteObject, RemoteProblem, TimeWindow};
use tokio::runtime::{Handle, Runtime};

pub use connect::Retries;
pub use error::{ObjstoreError, Secrets};
pub use fetch::Body;
pub use layout::{partition, partition_of, Partition};
pub use listing::{ListReport, ObjectEntry};
pub use url::{Cloud, StoreUrl};

/// How a store is read.
#[derive(Clone)]
pub struct StoreOptions {
    pub retries: Retries,
    /// Objects fetched at once (each holds at most a few chunks).
    pub in_flight: usize,
    /// Variables read as if they were in the environment, over it (`AWS_ENDPOINT_URL`,
    /// `AZURE_STORAGE_CONNECTION_STRING`, …): a caller's explicit configuration. Their
    /// secret values are redacted like the environment's.
    pub env: Vec<(String, String)>,
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("StoreOptions")
            .field("retries", &self.retries)
            .field("in_flight", &self.in_flight)
            .field("env (names only)", &names)
            .finish()
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            retries: Retries::default(),
            in_flight: 16,
            env: Vec::new(),
        }
    }
}

/// The runtime of every store of the process: two worker threads, since the work is waiting
/// on the network; the reading threads are rayon's.
fn runtime() -> Result<Handle, ObjstoreError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("snapback-objstore")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match rt {
        Ok(rt) => Ok(rt.handle().clone()),
        Err(e) => Err(ObjstoreError::Runtime(e.clone())),
    }
}

/// One URL's bucket: listing and reading, blocking. Not to be called from inside an async
/// runtime.
pub struct Store {
    url: StoreUrl,
    client: connect::Client,
    fetches: fetch::Fetches,
    counters: listing::Counters,
    runtime: Handle,
}

impl Store {
    /// A client for `url`, with the credentials and endpoint of the environment (see the
    /// README, "Reading from cloud storage"). Nothing is requested yet, except, for an S3
    /// bucket with no region configured anywhere, the bucket's region.
    pub fn connect(url: &StoreUrl, options: &StoreOptions) -> Result<Store, ObjstoreError> {
        let runtime = runtime()?;
        let client = runtime.block_on(connect::connect(url, &options.retries, &options.env))?;
        let source = match &client.gcs {
            Some(gcs) => fetch::Source::Gcs(gcs.clone()),
            None => fetch::Source::Store(client.store.clone()),
        };
        let fetches = fetch::Fetches::new(
            runtime.clone(),
            source,
            url.cloud,
            client.secrets.clone(),
            options.retries,
        );
        Ok(Store {
            url: url.clone(),
            client,
            fetches,
            counters: listing::Counters::default(),
            runtime,
        })
    }

    /// The URL this store reads.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// What removes this store's credentials from a message.
    pub fn secrets(&self) -> &Secrets {
        &self.client.secrets
    }

    /// The objects under the URL's prefix that may hold events of `window`, in key order,
    /// and the prefixes that could not be listed.
    pub fn list(&self, window: &TimeWindow) -> (Vec<ObjectEntry>, Vec<RemoteProblem>) {
        let mut problems = Vec::new();
        let objects = self.runtime.block_on(listing::walk(
            &self.client,
            &self.url,
            window,
            &self.counters,
            &mut problems,
        ));
        (objects, problems)
    }

    /// The objects under `prefix` (a key prefix of this bucket, usually a layout partition:
    /// [`partition_of`]) whose keys sort after `after`, in key order: what a watcher that
    /// saw `after` last there has not seen. Pushed down to the store where it can (S3's
    /// `start-after`, GCS's `startOffset`).
    pub fn list_after(
        &self,
        prefix: &str,
        after: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ObjstoreError> {
        let mut objects = self
            .runtime
            .block_on(self.client.list_all(prefix, after, &self.counters))
            .map_err(|f| ObjstoreError::Request {
                at: self.url.object_url(prefix),
                reason: f.reason,
                detail: f.detail,
            })?;
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// The object listed as `entry`, streamed; pinned to the version listed (a changed
    /// object is `object-changed`).
    pub fn read(&self, entry: &ObjectEntry) -> Result<Body, ObjstoreError> {
        let object = self.remote_object(entry);
        self.fetches
            .open(&object)
            .map_err(|f| ObjstoreError::Request {
                at: object.name.to_string(),
                reason: f.reason,
                detail: f.detail,
            })
    }

    /// How much was listed so far.
    pub fn list_report(&self) -> ListReport {
        self.counters.report()
    }

    /// What ingest reads for `e`: its URL (provenance), key, size, ETag and version.
    pub fn remote_object(&self, e: &ObjectEntry) -> RemoteObject {
        RemoteObject {
            name: self.url.object_url(&e.key).into(),
            key: e.key.as_str().into(),
            size: e.size,
            etag: e.etag.as_deref().map(Into::into),
            version: e.version.as_deref().map(Into::into),
        }
    }
}

/// A store URL as an input of a run: listed once (pruned by the run's window), read like
/// files.
pub struct ObjectInput {
    store: Store,
    window: TimeWindow,
    name: String,
    in_flight: usize,
}

impl ObjectInput {
    /// Connect to the store `arg` names (`s3://…`, `az://…`, `gs://…`).
    pub fn open(
        arg: &str,
        window: TimeWindow,
        options: &StoreOptions,
    ) -> Result<ObjectInput, ObjstoreError> {
        let url = StoreUrl::parse(arg)?;
        Ok(ObjectInput {
            store: Store::connect(&url, options)?,
            window,
            name: arg.to_owned(),
            in_flight: options.in_flight.max(1),
        })
    }

    /// The store behind it.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl std::fmt::Debug for ObjectInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL only: the client holds credentials.
        f.debug_struct("ObjectInput")
            .field("url", &self.name)
            .finish_non_exhaustive()
    }
}

impl RemoteInput for ObjectInput {
    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self, on_problem: &mut dyn FnMut(RemoteProblem)) -> Vec<RemoteObject> {
        let (objects, problems) = self.store.list(&self.window);
        problems.into_iter().for_each(on_problem);
        objects
            .iter()
            .map(|e| self.store.remote_object(e))
            .collect()
    }

    fn prefetch(&self, objects: &[RemoteObject]) {
        self.store.fetches.prefetch(objects);
    }

    fn open(&self, object: &RemoteObject) -> Result<Box<dyn Read + Send>, RemoteProblem> {
        match self.store.fetches.open(object) {
            Ok(body) => Ok(Box::new(body)),
            Err(f) => Err(RemoteProblem {
                at: object.name.clone(),
                reason: f.reason,
                detail: f.detail,
            }),
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }
}
