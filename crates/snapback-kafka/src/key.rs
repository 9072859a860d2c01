//! Message keys: which partition a record goes to, so that everything one sequence can link
//! is read by one consumer.
//!
//! Correlation never crosses an account (a revert sequence, its precursors and the alerts
//! folded into one host all share the cloud account: AWS account, Azure subscription, GCP
//! project), so keying by account puts every record a sequence can link into one partition.
//! Keying by resource spreads one busy account over partitions, at a price named in
//! [`KeyBy::Resource`].

use snapback_ingest::{Event, ResourceKind, ResourceRole};

/// What a message is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBy {
    /// `CLOUD:ACCOUNT`, e.g. `aws:111122223333`, `azure:<subscription id>`,
    /// `gcp:<project id>`. Every record one sequence can link shares it.
    Account,
    /// `CLOUD:ACCOUNT/RESOURCE`: the first machine the record names (an EC2 or Compute
    /// Engine instance, an Azure VM, an RDS instance, in any role), else the resource it acts
    /// on (its target), else the first resource it names, else nothing (the account key). A sequence whose records all
    /// name its machine (stop, detach, attach, start; a disk replaced on a VM) stays in one
    /// partition; one that links records naming other resources does not: a volume or disk
    /// created from a snapshot (keyed by the snapshot or the new volume) and later attached,
    /// precursors (snapshots and images taken earlier), alerts folded into one host.
    Resource,
}

impl KeyBy {
    /// The key of `event`'s message.
    pub fn key(self, event: &Event) -> String {
        let account = account_key(event);
        match self {
            KeyBy::Account => account,
            KeyBy::Resource => match resource_of(event) {
                Some(id) => format!("{account}/{id}"),
                None => account,
            },
        }
    }
}

/// `CLOUD:ACCOUNT` of an event.
pub fn account_key(event: &Event) -> String {
    format!("{}:{}", event.cloud, event.account)
}

fn resource_of(event: &Event) -> Option<&str> {
    let machine = |k: ResourceKind| {
        matches!(
            k,
            ResourceKind::Instance | ResourceKind::Vm | ResourceKind::DbInstance
        )
    };
    event
        .resources
        .iter()
        .find(|r| machine(r.kind))
        .or_else(|| {
            event
                .resources
                .iter()
                .find(|r| r.role == ResourceRole::Target)
        })
        .or_else(|| event.resources.first())
        .map(|r| r.id.as_str())
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapback_ingest::{decode_record, Decoded, Provenance};

    fn event(json: &str) -> Event {
        let prov = Provenance {
            file: "t".into(),
            record: 0,
            offset: 0,
        };
        match decode_record(serde_json::from_str(json).unwrap(), &prov).remove(0) {
            Decoded::Event(e) => *e,
            other => panic!("{other:?}"),
        }
    }

    const DETACH: &str = r#"{"eventVersion":"1.08","eventTime":"2026-11-20T09:05:00Z","eventSource":"ec2.amazonaws.com","eventName":"DetachVolume","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e1","requestParameters":{"volumeId":"vol-1","instanceId":"i-0abc"}}"#;
    const CREATE_VOLUME: &str = r#"{"eventVersion":"1.08","eventTime":"2026-11-20T09:06:00Z","eventSource":"ec2.amazonaws.com","eventName":"CreateVolume","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e2","requestParameters":{"snapshotId":"snap-9"},"responseElements":{"volumeId":"vol-2"}}"#;
    const LIST: &str = r#"{"eventVersion":"1.08","eventTime":"2026-11-20T09:07:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeRegions","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e3"}"#;

    #[test]
    fn account_key_is_cloud_and_account() {
        for json in [DETACH, CREATE_VOLUME, LIST] {
            assert_eq!(KeyBy::Account.key(&event(json)), "aws:111122223333");
        }
    }

    #[test]
    fn resource_key_prefers_the_machine_then_the_target_then_the_account() {
        assert_eq!(
            KeyBy::Resource.key(&event(DETACH)),
            "aws:111122223333/i-0abc"
        );
        // No machine, no target: the snapshot it names first (then the volume it created).
        assert_eq!(
            KeyBy::Resource.key(&event(CREATE_VOLUME)),
            "aws:111122223333/snap-9"
        );
        assert_eq!(KeyBy::Resource.key(&event(LIST)), "aws:111122223333");
    }
}
