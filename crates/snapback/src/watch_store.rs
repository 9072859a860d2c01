//! `watch s3://…`/`az://…`/`gs://…`: a store prefix as the pipeline's
//! [`ObjectSource`](snapback_pipeline::watch::ObjectSource), over `snapback-objstore` (which
//! owns every client name; the pipeline knows none).

use std::io::Read;
use std::sync::Arc;

use jiff::Timestamp;
use snapback_ingest::{RemoteInput, RemoteObject, RemoteProblem, TimeWindow};
use snapback_objstore::{ObjectEntry, ObjectInput, ObjstoreError, StoreOptions};
use snapback_pipeline::watch::objects::{Listed, Partition};
use snapback_pipeline::watch::ObjectSource;

/// A watched prefix: its store, read as `scan` reads it.
#[derive(Debug)]
pub struct StorePrefix {
    input: ObjectInput,
}

impl StorePrefix {
    /// Connect to the store `arg` names, with the environment's credentials.
    pub fn open(arg: &str) -> anyhow::Result<Arc<dyn ObjectSource>> {
        let input = ObjectInput::open(arg, TimeWindow::default(), &StoreOptions::default())?;
        Ok(Arc::new(StorePrefix { input }))
    }

    fn listed(&self, e: &ObjectEntry) -> Listed {
        Listed {
            object: self.input.store().remote_object(e),
            modified: e.last_modified,
        }
    }
}

/// A failed listing of `at` (the prefix URL, when the error names none).
fn problem(at: String, e: ObjstoreError) -> RemoteProblem {
    match e {
        ObjstoreError::Request { at, reason, detail } => RemoteProblem {
            at: at.into(),
            reason,
            detail,
        },
        other => RemoteProblem {
            at: at.into(),
            reason: other.reason(),
            detail: other.to_string(),
        },
    }
}

impl RemoteInput for StorePrefix {
    fn name(&self) -> &str {
        self.input.name()
    }

    fn list(&self, on_problem: &mut dyn FnMut(RemoteProblem)) -> Vec<RemoteObject> {
        self.input.list(on_problem)
    }

    fn prefetch(&self, objects: &[RemoteObject]) {
        self.input.prefetch(objects)
    }

    fn open(&self, object: &RemoteObject) -> Result<Box<dyn Read + Send>, RemoteProblem> {
        self.input.open(object)
    }

    fn in_flight(&self) -> usize {
        self.input.in_flight()
    }
}

impl ObjectSource for StorePrefix {
    fn prefix(&self) -> &str {
        &self.input.store().url().prefix
    }

    fn url_of(&self, key: &str) -> String {
        self.input.store().url().object_url(key)
    }

    fn walk(&self, since: Option<Timestamp>) -> (Vec<Listed>, Vec<RemoteProblem>) {
        let window = TimeWindow { since, until: None };
        let (entries, problems) = self.input.store().list(&window);
        (entries.iter().map(|e| self.listed(e)).collect(), problems)
    }

    fn list_after(&self, prefix: &str, after: Option<&str>) -> Result<Vec<Listed>, RemoteProblem> {
        let entries = self
            .input
            .store()
            .list_after(prefix, after)
            .map_err(|e| problem(self.url_of(prefix), e))?;
        Ok(entries.iter().map(|e| self.listed(e)).collect())
    }

    fn partition(&self, key: &str) -> Option<Partition> {
        let p = snapback_objstore::partition(self.input.store().url().cloud, key)?;
        Some(Partition {
            prefix: p.prefix.to_owned(),
            root: p.root.to_owned(),
            start: p.start,
        })
    }
}
