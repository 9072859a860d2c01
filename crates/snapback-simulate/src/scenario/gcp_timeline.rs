//! The Google Cloud part of the scenario (not a seed test; for detection coverage): a snapshot
//! shared out, a disk made from it swapped in as an instance's boot disk, a stop→start that
//! discards Local SSD; and the instance schedule that must not alert.
//!
//! Why apart: Google Cloud's principals, resource names and first/last operation entries are its
//! own; the parent only fixes where this part stands in the timeline.

use serde_json::json;

use super::{Timeline, ATTACKER_IP, NOISE};
use crate::clock::at;
use crate::gcp::{self, GcpCall, GcpPrincipal, Target};
use crate::ids::Ids;
use crate::{Part, Story};

/// Who acts in the Google Cloud part, and the instance, snapshot and disk of the revert.
struct Cast {
    mallory: GcpPrincipal,
    agent: GcpPrincipal,
    web1: Target,
    snapshot: Target,
    restored: Target,
    snapshot_rn: String,
    restored_rn: String,
    web1_rn: String,
}

impl Cast {
    fn new(ids: &Ids) -> Self {
        let mallory = GcpPrincipal {
            email: "mallory@northwindlabs.example".to_string(),
            subject_kind: "user:",
            ip: ATTACKER_IP,
            gcloud: true,
        };
        let agent = GcpPrincipal {
            email: format!(
                "service-{}@compute-system.iam.gserviceaccount.com",
                gcp::PROJECT_NUMBER
            ),
            subject_kind: "serviceAccount:",
            ip: "private",
            gcloud: false,
        };
        let web1 = instance(ids, "web-1");
        let snapshot = Target::Snapshot {
            name: "web-1-golden-20261101".to_string(),
            id: gid(ids, "snapshot/web-1-golden-20261101"),
        };
        let restored = Target::Disk {
            name: "web-1-restored".to_string(),
            id: gid(ids, "disk/web-1-restored"),
        };
        let snapshot_rn = snapshot.resource_name();
        let restored_rn = restored.resource_name();
        let web1_rn = web1.resource_name();
        Cast {
            mallory,
            agent,
            web1,
            snapshot,
            restored,
            snapshot_rn,
            restored_rn,
            web1_rn,
        }
    }
}

/// A Google Cloud numeric id for `label`.
fn gid(ids: &Ids, label: &str) -> String {
    ids.digits(&format!("gcp/id/{label}"), 19)
}

/// The instance `name`, with its numeric id.
fn instance(ids: &Ids, name: &str) -> Target {
    Target::Instance {
        name: name.to_string(),
        id: gid(ids, name),
    }
}

/// The Google Cloud episodes in timeline order.
pub(super) fn build_gcp(t: &mut Timeline<'_>) {
    let cast = Cast::new(t.ids);
    snapshot_share(t, &cast);
    instance_schedule(t, &cast);
    boot_disk_swap(t, &cast);
    cache_stop_start(t, &cast);
}

/// Precursor: the golden snapshot granted to an outside account.
fn snapshot_share(t: &mut Timeline<'_>, cast: &Cast) {
    let Cast {
        mallory,
        snapshot,
        snapshot_rn,
        ..
    } = cast;
    let story = Story::GcpRevert;
    let policy = json!({"bindings": [{"role": "roles/compute.storageAdmin", "members": ["user:drop@exfil-collector.example"]}], "etag": "BwYh8mQ3pX0="});
    t.gcp(story, Part::Precursor, "snapshot shared to an outside account (setIamPolicy): exfiltration of the disk", GcpCall {
        label: "gcp/share",
        principal: mallory,
        method: "v1.compute.snapshots.setIamPolicy",
        gcloud_command: "gcloud.compute.snapshots.add-iam-policy-binding",
        target: snapshot.clone(),
        permissions: vec![("compute.snapshots.setIamPolicy", snapshot_rn.clone())],
        request: json!({"policy": policy}),
        operation: None,
        sync_response: Some(json!({"@type": "type.googleapis.com/compute.Policy", "bindings": policy["bindings"], "etag": "BwYh8nA1c2Q=", "version": 1})),
        first_at: at(1, 15, 22, 377),
    });
}

/// Benign: the instance schedule stops and starts batch-worker-1.
fn instance_schedule(t: &mut Timeline<'_>, cast: &Cast) {
    let ids = t.ids;
    let Cast { agent, .. } = cast;
    for (n, (method, op, first, last)) in [
        (
            "v1.compute.instances.stop",
            "stop",
            at(2, 0, 1, 92),
            at(2, 0, 43, 515),
        ),
        (
            "v1.compute.instances.start",
            "start",
            at(2, 30, 1, 140),
            at(2, 30, 22, 9),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let target = instance(ids, "batch-worker-1");
        t.gcp(NOISE, Part::Benign, "instance schedule run by the Compute Engine Service Agent (service-<PN>@compute-system): planned stop/start", GcpCall {
            label: &format!("gcp/schedule/{n}"),
            principal: agent,
            method,
            gcloud_command: "",
            permissions: vec![(if n == 0 { "compute.instances.stop" } else { "compute.instances.start" }, target.resource_name())],
            target,
            request: json!({}),
            operation: Some((op, last)),
            sync_response: None,
            first_at: first,
        });
    }
}

/// Revert: disk from the snapshot, boot-disk swap on web-1.
fn boot_disk_swap(t: &mut Timeline<'_>, cast: &Cast) {
    let Cast {
        mallory,
        web1,
        restored,
        snapshot_rn,
        restored_rn,
        web1_rn,
        ..
    } = cast;
    let story = Story::GcpRevert;
    t.gcp(story, Part::Revert, "disks.insert with sourceSnapshot (first entry carries the request)", GcpCall {
        label: "gcp/disk",
        principal: mallory,
        method: "v1.compute.disks.insert",
        gcloud_command: "gcloud.compute.disks.create",
        target: restored.clone(),
        permissions: vec![("compute.disks.create", restored_rn.clone()), ("compute.snapshots.useReadOnly", snapshot_rn.clone())],
        request: json!({"name": "web-1-restored", "sourceSnapshot": gcp::url(snapshot_rn), "type": gcp::url(&format!("projects/{}/zones/{}/diskTypes/pd-balanced", gcp::PROJECT, gcp::ZONE))}),
        operation: Some(("insert", at(4, 20, 17, 402))),
        sync_response: None,
        first_at: at(4, 20, 5, 211),
    });
    let steps = [
        (
            "gcp/stop",
            "v1.compute.instances.stop",
            "gcloud.compute.instances.stop",
            "stop",
            "compute.instances.stop",
            json!({}),
            at(4, 21, 30, 33),
            at(4, 22, 14, 250),
        ),
        (
            "gcp/detach",
            "v1.compute.instances.detachDisk",
            "gcloud.compute.instances.detach-disk",
            "detachDisk",
            "compute.instances.detachDisk",
            json!({}),
            at(4, 23, 2, 610),
            at(4, 23, 10, 71),
        ),
        (
            "gcp/attach",
            "v1.compute.instances.attachDisk",
            "gcloud.compute.instances.attach-disk",
            "attachDisk",
            "compute.instances.attachDisk",
            json!({"source": gcp::url(restored_rn), "deviceName": "web-1", "boot": true, "mode": "READ_WRITE", "autoDelete": false, "type": "PERSISTENT"}),
            at(4, 24, 11, 5),
            at(4, 24, 20, 880),
        ),
        (
            "gcp/start",
            "v1.compute.instances.start",
            "gcloud.compute.instances.start",
            "start",
            "compute.instances.start",
            json!({}),
            at(4, 25, 0, 412),
            at(4, 25, 31, 96),
        ),
    ];
    for (label, method, command, op, permission, request, first, last) in steps {
        let mut permissions = vec![(permission, web1_rn.clone())];
        if op == "attachDisk" {
            permissions.push(("compute.disks.use", restored_rn.clone()));
        }
        t.gcp(
            story,
            Part::Revert,
            match op {
                "stop" => "instances.stop of web-1 before the boot-disk swap",
                "detachDisk" => "instances.detachDisk of web-1's boot disk",
                "attachDisk" => "instances.attachDisk of the restored disk to web-1 as boot disk",
                _ => "instances.start of web-1 on the reverted boot disk",
            },
            GcpCall {
                label,
                principal: mallory,
                method,
                gcloud_command: command,
                target: web1.clone(),
                permissions,
                request,
                operation: Some((op, last)),
                sync_response: None,
                first_at: first,
            },
        );
    }
}

/// Revert: stop then start cache-1 (Local SSD discarded).
fn cache_stop_start(t: &mut Timeline<'_>, cast: &Cast) {
    let ids = t.ids;
    let Cast { mallory, .. } = cast;
    let story = Story::GcpRevert;
    for (n, (method, command, op, first, last)) in [
        (
            "v1.compute.instances.stop",
            "gcloud.compute.instances.stop",
            "stop",
            at(4, 40, 12, 730),
            at(4, 40, 50, 18),
        ),
        (
            "v1.compute.instances.start",
            "gcloud.compute.instances.start",
            "start",
            at(4, 47, 33, 291),
            at(4, 48, 1, 664),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let target = instance(ids, "cache-1");
        t.gcp(
            story,
            Part::Revert,
            if n == 0 {
                "instances.stop of cache-1 (Local SSD discarded)"
            } else {
                "instances.start of cache-1 after the stop"
            },
            GcpCall {
                label: &format!("gcp/cache/{n}"),
                principal: mallory,
                method,
                gcloud_command: command,
                permissions: vec![(
                    if n == 0 {
                        "compute.instances.stop"
                    } else {
                        "compute.instances.start"
                    },
                    target.resource_name(),
                )],
                target,
                request: json!({}),
                operation: Some((op, last)),
                sync_response: None,
                first_at: first,
            },
        );
    }
}
