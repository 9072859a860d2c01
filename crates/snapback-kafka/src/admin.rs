//! Topics: create one, count its partitions. For tests, and for a consumer that keeps its
//! own topics (alerts, changelog).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::config::client_config;
use crate::{KafkaError, Settings};

/// What [`create_topic`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicCreated {
    Created,
    /// A topic of that name was there already (its partitions and settings unchanged).
    Existed,
}

/// A topic to create.
#[derive(Debug, Clone)]
pub struct TopicSpec<'a> {
    pub name: &'a str,
    pub partitions: i32,
    pub replication: i32,
    /// Topic-level settings, e.g. `("cleanup.policy", "compact")`.
    pub config: Vec<(&'a str, &'a str)>,
}

/// Create a topic, waiting up to `timeout` for the cluster to say so.
pub fn create_topic(
    brokers: &str,
    settings: &Settings,
    spec: &TopicSpec<'_>,
    timeout: Duration,
) -> Result<TopicCreated, KafkaError> {
    let fail = |message: String| KafkaError::CreateTopic {
        topic: spec.name.to_owned(),
        message,
    };
    let admin: AdminClient<DefaultClientContext> = client_config(brokers, &[], settings, &[])?
        .create()
        .map_err(|e| KafkaError::Client {
            role: "admin client",
            message: e.to_string(),
        })?;
    let mut topic = NewTopic::new(
        spec.name,
        spec.partitions,
        TopicReplication::Fixed(spec.replication),
    );
    for (k, v) in &spec.config {
        topic = topic.set(k, v);
    }
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results =
        block_on(admin.create_topics([&topic], &options)).map_err(|e| fail(e.to_string()))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(TopicCreated::Created),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(TopicCreated::Existed),
        Some(Err((_, code))) => Err(fail(format!("{code:?}: {code}"))),
        None => Err(fail("the cluster answered nothing".into())),
    }
}

/// How many partitions `topic` has; an error if the cluster does not know it.
pub fn partition_count(
    brokers: &str,
    settings: &Settings,
    topic: &str,
    timeout: Duration,
) -> Result<usize, KafkaError> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let fail = |message: String| KafkaError::Metadata {
        topic: topic.to_owned(),
        message,
    };
    let client: BaseConsumer = client_config(brokers, &[], settings, &[])?
        .create()
        .map_err(|e| KafkaError::Client {
            role: "metadata client",
            message: e.to_string(),
        })?;
    let metadata = client
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| fail(e.to_string()))?;
    let t = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| fail("not in the cluster's answer".into()))?;
    if let Some(e) = t.error() {
        let code = RDKafkaErrorCode::from(e);
        return Err(fail(format!("{code}")));
    }
    Ok(t.partitions().len())
}

/// Wait for a future on this thread. rdkafka's admin futures are completed by the admin
/// client's own thread, so no runtime is needed, only a waker that unparks this one.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}
