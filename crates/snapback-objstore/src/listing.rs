//! Listing a prefix, pruned by the layout's dates before listing deeper, several folders at
//! a time; and listing after a key (what `watch` needs to see only new objects).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use futures::stream::{FuturesUnordered, StreamExt, TryStreamExt};
use jiff::Timestamp;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use snapback_ingest::{RemoteProblem, TimeWindow};

use crate::connect::Client;
use crate::error::{reason_of, Op};
use crate::layout::{DatePath, Decision};
use crate::url::StoreUrl;

/// Folders listed at once.
const LISTINGS_IN_FLIGHT: usize = 16;

/// One object a listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// Its key in the bucket.
    pub key: String,
    pub size: u64,
    /// Its entity tag as the store gives it (changes whenever the object does): `watch`
    /// keeps the ETags it processed and skips an object whose ETag it knows.
    pub etag: Option<String>,
    /// The store's version of it, where the listing gives one (GCS: the generation).
    pub version: Option<String>,
    pub last_modified: Option<Timestamp>,
}

/// What one listing call returned: the folders right under a prefix (each ending in `/`)
/// and the objects at its level (or, listed flat, every object under it).
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub folders: Vec<String>,
    pub objects: Vec<ObjectEntry>,
}

/// Why a request failed, credentials already removed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub reason: &'static str,
    pub detail: String,
}

/// How much a listing listed: what proves `--since/--until` pruned it.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    listings: AtomicU64,
    pruned: AtomicU64,
    listed: Mutex<Vec<String>>,
}

/// The account of the listings of a store so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListReport {
    /// Listing calls made (a call that pages counts once).
    pub listings: u64,
    /// Folders skipped unlisted because their dates miss the window.
    pub pruned: u64,
    /// The prefixes listed, in the order listed (`/` marks a folder listed level by level,
    /// `*` one listed flat).
    pub listed: Vec<String>,
}

impl Counters {
    fn count(&self, prefix: &str, flat: bool) {
        self.listings.fetch_add(1, Ordering::Relaxed);
        let mark = if flat { "*" } else { "/" };
        if let Ok(mut l) = self.listed.lock() {
            l.push(format!("{mark} {prefix}"));
        }
    }

    pub(crate) fn report(&self) -> ListReport {
        ListReport {
            listings: self.listings.load(Ordering::Relaxed),
            pruned: self.pruned.load(Ordering::Relaxed),
            listed: self.listed.lock().map(|l| l.clone()).unwrap_or_default(),
        }
    }
}

impl Client {
    fn path(&self, key: &str) -> Result<Option<Path>, Failure> {
        let trimmed = key.trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(None);
        }
        Path::parse(trimmed).map(Some).map_err(|e| Failure {
            reason: "list-failed",
            detail: format!("the client cannot name this key: {e}"),
        })
    }

    fn failure(&self, op: Op, e: object_store::Error) -> Failure {
        Failure {
            reason: reason_of(op, &e),
            detail: self.secrets.redact(&e.to_string()),
        }
    }

    /// The folders and objects right under `prefix` (`""` or ending in `/`).
    pub(crate) async fn list_folder(&self, prefix: &str, n: &Counters) -> Result<Page, Failure> {
        n.count(prefix, false);
        if let Some(gcs) = &self.gcs {
            return gcs.list(prefix, true, None).await;
        }
        let path = self.path(prefix)?;
        let r = self
            .store
            .list_with_delimiter(path.as_ref())
            .await
            .map_err(|e| self.failure(Op::List, e))?;
        Ok(Page {
            folders: r
                .common_prefixes
                .iter()
                .map(|p| format!("{}/", p.as_ref()))
                .collect(),
            objects: r.objects.into_iter().map(entry).collect(),
        })
    }

    /// Every object under `prefix`, after the key `after` when given.
    pub(crate) async fn list_all(
        &self,
        prefix: &str,
        after: Option<&str>,
        n: &Counters,
    ) -> Result<Vec<ObjectEntry>, Failure> {
        n.count(prefix, true);
        if let Some(gcs) = &self.gcs {
            return gcs.list(prefix, false, after).await.map(|p| p.objects);
        }
        let path = self.path(prefix)?;
        let stream = match after {
            Some(a) => {
                let offset = Path::parse(a).map_err(|e| Failure {
                    reason: "list-failed",
                    detail: format!("the client cannot name the key to list after: {e}"),
                })?;
                self.store.list_with_offset(path.as_ref(), &offset)
            }
            None => self.store.list(path.as_ref()),
        };
        let metas: Vec<object_store::ObjectMeta> = stream
            .try_collect()
            .await
            .map_err(|e| self.failure(Op::List, e))?;
        let mut objects: Vec<ObjectEntry> = metas.into_iter().map(entry).collect();
        if let Some(a) = after {
            objects.retain(|o| o.key.as_str() > a);
        }
        Ok(objects)
    }

    /// The object at exactly `key`, if there is one.
    pub(crate) async fn head(&self, key: &str) -> Result<Option<ObjectEntry>, Failure> {
        let Some(path) = self.path(key)? else {
            return Ok(None);
        };
        if let Some(gcs) = &self.gcs {
            let page = gcs.list(key, true, None).await?;
            return Ok(page.objects.into_iter().find(|o| o.key == key));
        }
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(entry(meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failure(Op::Get, e)),
        }
    }
}

fn entry(meta: object_store::ObjectMeta) -> ObjectEntry {
    let t = meta.last_modified;
    ObjectEntry {
        key: meta.location.as_ref().to_owned(),
        size: meta.size,
        etag: meta.e_tag,
        version: meta.version,
        last_modified: Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32).ok(),
    }
}

enum Task {
    Walk(String, DatePath),
    All(String),
}

/// Every object under the URL's prefix whose folder dates may hold events of `window`, in
/// key order. Folders whose dates miss it are never listed; listing problems go to
/// `problems` and the rest is listed. A prefix that names one object gives that object.
pub(crate) async fn walk(
    client: &Client,
    url: &StoreUrl,
    window: &TimeWindow,
    n: &Counters,
    problems: &mut Vec<RemoteProblem>,
) -> Vec<ObjectEntry> {
    let root = match url.prefix.as_str() {
        "" => String::new(),
        p if p.ends_with('/') => p.to_owned(),
        p => format!("{p}/"),
    };
    let mut date = DatePath::default();
    for name in root.split('/').filter(|s| !s.is_empty()) {
        date = date.step(url.cloud, name).unwrap_or(date);
    }
    let first = match (window.is_bounded(), date.decide(url.cloud, window)) {
        (false, _) | (true, Decision::ListAll) => Some(Task::All(root.clone())),
        (true, Decision::Walk) => Some(Task::Walk(root.clone(), date)),
        (true, Decision::Skip) => None,
    };
    let mut queue: Vec<Task> = first.into_iter().collect();
    let mut running = FuturesUnordered::new();
    let mut objects: Vec<ObjectEntry> = Vec::new();
    loop {
        while running.len() < LISTINGS_IN_FLIGHT {
            let Some(task) = queue.pop() else { break };
            running.push(run(client, task, n));
        }
        let Some((prefix, date, result)) = running.next().await else {
            break;
        };
        match result {
            Err(f) => problems.push(RemoteProblem {
                at: url.object_url(&prefix).into(),
                reason: f.reason,
                detail: f.detail,
            }),
            Ok(page) => {
                for folder in page.folders {
                    queue.extend(next_task(url, window, date, folder, n));
                }
                objects.extend(page.objects);
            }
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    objects.dedup_by(|a, b| a.key == b.key);
    if objects.is_empty() && problems.is_empty() && !url.prefix.is_empty() {
        match client.head(&url.prefix).await {
            Ok(one) => objects.extend(one),
            Err(f) => problems.push(RemoteProblem {
                at: url.object_url(&url.prefix).into(),
                reason: f.reason,
                detail: f.detail,
            }),
        }
    }
    objects
}

/// One listing: a folder level by level (its date kept for its children), or all of it.
async fn run(
    client: &Client,
    task: Task,
    n: &Counters,
) -> (String, Option<DatePath>, Result<Page, Failure>) {
    match task {
        Task::Walk(prefix, date) => {
            let r = client.list_folder(&prefix, n).await;
            (prefix, Some(date), r)
        }
        Task::All(prefix) => {
            let r = client.list_all(&prefix, None, n).await;
            let page = r.map(|objects| Page {
                folders: Vec::new(),
                objects,
            });
            (prefix, None, page)
        }
    }
}

/// What to do with `folder`, found under a folder dated `parent`.
fn next_task(
    url: &StoreUrl,
    window: &TimeWindow,
    parent: Option<DatePath>,
    folder: String,
    n: &Counters,
) -> Option<Task> {
    let parent = parent.unwrap_or_default();
    let name = folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    let Some(date) = parent.step(url.cloud, name) else {
        return Some(Task::Walk(folder, parent));
    };
    match date.decide(url.cloud, window) {
        Decision::Skip => {
            n.pruned.fetch_add(1, Ordering::Relaxed);
            None
        }
        Decision::Walk => Some(Task::Walk(folder, date)),
        Decision::ListAll => Some(Task::All(folder)),
    }
}
