//! Conformance with a peer parser: Elastic's `aws/cloudtrail` and `gcp/audit` ingest pipelines.
//! For each record of `../shared/corpus/elastic-integrations/` that has an `-expected.json`,
//! our actor, source IP, account, region, operation, outcome and instance id are compared with
//! Elastic's ECS fields. Naming differs by design; every value difference is written below with
//! its reason. (Source: elastic/integrations, Elastic License 2.0; see the corpus SOURCES.md.)

mod common;

use std::path::Path;

use common::read;
use serde_json::Value;
use snapback_ingest::{Event, Outcome, ResourceKind};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn corpus_or_skip() -> Option<&'static Path> {
    let root = Path::new(CORPUS);
    if root.is_dir() {
        return Some(root);
    }
    eprintln!(
        "\n*** elastic conformance test DID NOT RUN: {} is absent (CI always has it). ***\n",
        root.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the corpus is missing at {}", root.display());
    }
    None
}

fn ecs(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// Our record and Elastic's expected document for `<dir>/<log>`.
fn pair(root: &Path, dir: &str, log: &str) -> (Event, Value) {
    let r = read(&[&root.join("elastic-integrations").join(dir).join(log)]);
    assert_eq!(r.events.len(), 1, "{:?}", r.diags);
    let expected_path = root
        .join("elastic-integrations")
        .join(dir)
        .join(format!("{log}-expected.json"));
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(expected_path).unwrap()).unwrap();
    let docs = expected["expected"].as_array().unwrap();
    assert_eq!(docs.len(), 1);
    (r.events.into_iter().next().unwrap(), docs[0].clone())
}

fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Failure { .. } => "failure",
        _ => "unknown",
    }
}

#[test]
fn cloudtrail_run_instances_matches_elastic() {
    let Some(root) = corpus_or_skip() else { return };
    let (e, doc) = pair(root, "aws_cloudtrail", "test-run-instances-json.log");
    assert_eq!(
        e.actor.principal,
        ecs(&doc, "aws.cloudtrail.user_identity.arn")
    );
    // Elastic's user.id is the IAM principal id (userIdentity.principalId): we keep the ARN as
    // the principal and the id in the raw record.
    assert_eq!(
        e.raw_str("userIdentity.principalId").map(str::to_owned),
        ecs(&doc, "user.id")
    );
    assert_eq!(e.actor.name, ecs(&doc, "user.name"));
    assert_eq!(e.source_ip, ecs(&doc, "source.address"));
    assert_eq!(e.source_ip, ecs(&doc, "source.ip"));
    assert_eq!(Some(e.account.clone()), ecs(&doc, "cloud.account.id"));
    assert_eq!(Some(e.region.clone()), ecs(&doc, "cloud.region"));
    assert_eq!(Some(e.operation.clone()), ecs(&doc, "event.action"));
    assert_eq!(Some(e.service.clone()), ecs(&doc, "event.provider"));
    assert_eq!(
        Some(outcome_word(&e.outcome).to_owned()),
        ecs(&doc, "event.outcome")
    );
    assert_eq!(Some(e.event_id.clone()), ecs(&doc, "event.id"));
    assert_eq!(e.user_agent, ecs(&doc, "user_agent.original"));
    // Elastic has no cloud.instance.id for a RunInstances call; the instance it created is in
    // related.entity, and is the instance we name (created by the call).
    let related = ecs(&doc, "related.entity").unwrap();
    let ours = e.resource_ids(ResourceKind::Instance);
    assert_eq!(ours, ["i-0f2f135de18b555e3"]);
    assert!(related.split(',').any(|x| x == ours[0]));
    assert_eq!(doc.pointer("/cloud/instance/id"), None);
    // And the image it was launched from.
    assert!(e
        .resource_ids(ResourceKind::Image)
        .iter()
        .all(|id| related.split(',').any(|x| x == *id)));
}

#[test]
fn gcp_compute_instances_insert_matches_elastic() {
    let Some(root) = corpus_or_skip() else { return };
    let (e, doc) = pair(root, "gcp_audit", "test-compute-googleapis-com.log");
    assert_eq!(e.actor.principal, ecs(&doc, "client.user.email"));
    assert_eq!(e.actor.principal, ecs(&doc, "user.email"));
    assert_eq!(e.source_ip, ecs(&doc, "source.ip"));
    assert_eq!(Some(e.account.clone()), ecs(&doc, "cloud.project.id"));
    // Elastic keeps the method name with its version prefix as event.action; so does our
    // `operation` (`action` drops the prefix for matching).
    assert_eq!(Some(e.operation.clone()), ecs(&doc, "event.action"));
    assert_eq!(e.action, "compute.instances.insert");
    assert_eq!(Some(e.event_id.clone()), ecs(&doc, "event.id"));
    // Written-down differences:
    // - Outcome: this is the first entry of a long-running operation. Elastic says "unknown";
    //   we say Accepted (the architecture's rule: a first entry may open a sequence, never
    //   complete one). Both mean "not known to have succeeded yet".
    assert_eq!(ecs(&doc, "event.outcome").as_deref(), Some("unknown"));
    assert_eq!(e.outcome, Outcome::Accepted);
    // - Region: Elastic sets no cloud.region for this entry; we give the zone from
    //   resource.labels.zone, which is where the instance is.
    assert_eq!(doc.pointer("/cloud/region"), None);
    assert_eq!(e.region, "us-central1-a");
    // - Instance id: Elastic's cloud.instance.id is the numeric id from
    //   resource.labels.instance_id; we name instances by their relative resource name, the
    //   form every other record uses to refer to them (and the one correlation joins on). The
    //   numeric id stays reachable in the raw record.
    assert_eq!(
        e.raw_str("resource.labels.instance_id").map(str::to_owned),
        ecs(&doc, "cloud.instance.id")
    );
    assert_eq!(
        e.resource_ids(ResourceKind::Instance),
        ["projects/project-id/zones/us-central1-a/instances/x-logs"]
    );
}
