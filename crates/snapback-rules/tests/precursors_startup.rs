//! Startup code changed on an instance is a precursor (issue 18, item 3): EC2 user data, Azure run
//! command, script extensions and VM user/custom data, Google Cloud startup-script metadata. Each
//! case is a record in its cloud's delivery layout, shaped after the vendor's API reference and
//! the public corpus (`../shared/corpus`), decoded by the real ingest decoder; the expected list is
//! every pack rule it matches.

mod common;

use common::*;
use serde_json::{json, Value};

const I1: &str = "i-0a1b2c3d4e5f60001";

#[test]
fn aws_user_data_rewritten() {
    let modify = |req: Value| ec2("ModifyInstanceAttribute", req, json!({"_return": true}));
    table(&[
        // Stratus Red Team's ec2-user-data detonation and Panther's test: the value is redacted.
        (
            "userData parameter",
            modify(json!({"instanceId": I1, "userData": "<sensitiveDataRemoved>"})),
            &["aws-ec2-user-data-modified"],
        ),
        // Pacu / SigmaHQ: attribute userData with a value.
        (
            "attribute userData",
            modify(
                json!({"instanceId": I1, "attribute": "userData", "value": "<sensitiveDataRemoved>"}),
            ),
            &["aws-ec2-user-data-modified"],
        ),
        // The invictus-ir lab's Terraform calls and other attributes.
        (
            "disableApiTermination",
            modify(json!({"instanceId": I1, "disableApiTermination": {"value": false}})),
            &[],
        ),
        (
            "instanceType",
            modify(json!({"instanceId": I1, "instanceType": {"value": "t3.large"}})),
            &[],
        ),
        (
            "attribute instanceType",
            modify(json!({"instanceId": I1, "attribute": "instanceType", "value": "t3.large"})),
            &[],
        ),
    ]);
}

#[test]
fn azure_run_command() {
    let vm = arm("prod", "Microsoft.Compute/virtualMachines/web01");
    let run = "azure-vm-run-command";
    table(&[
        // Panther's samples: the action on the VM, upper-case and lower-case.
        (
            "runCommand/action",
            az_records(
                "MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION",
                &vm,
                None,
                user_claims(),
            ),
            &[run],
        ),
        (
            "runCommand/action (REST)",
            az_rest(
                "microsoft.compute/virtualmachines/runcommand/action",
                &vm,
                None,
                None,
            ),
            &[run],
        ),
        (
            "managed run command",
            az_la(
                "Microsoft.Compute/virtualMachines/runCommands/write",
                &format!("{vm}/runCommands/fix"),
                Some(json!({"properties": {"source": {"script": "x"}}})),
            ),
            &[run],
        ),
    ]);
}

#[test]
fn azure_script_extensions_by_type_or_name() {
    let vm = arm("prod", "Microsoft.Compute/virtualMachines/web01");
    let script = "azure-vm-script-extension";
    let ext = |name: &str| format!("{vm}/extensions/{name}");
    let ext_body = |publisher: &str, ty: &str| {
        json!({"location": "westeurope", "properties": {"publisher": publisher, "type": ty,
               "typeHandlerVersion": "1.10", "settings": {"commandToExecute": "powershell -File x.ps1"}}})
    };
    let write = "Microsoft.Compute/virtualMachines/extensions/write";
    table(&[
        (
            "custom script (Windows)",
            az_records(
                write,
                &ext("CustomScriptExtension"),
                Some(ext_body("Microsoft.Compute", "CustomScriptExtension")),
                user_claims(),
            ),
            &[script],
        ),
        (
            "custom script (Linux), renamed",
            az_rest(
                write,
                &ext("bootstrap"),
                Some(ext_body("Microsoft.Azure.Extensions", "CustomScript")),
                None,
            ),
            &[script],
        ),
        // Panther's sample: no body, the extension named customScript.
        (
            "no body, named customScript",
            az_records(write, &ext("customScript"), None, user_claims()),
            &[script],
        ),
        // Agents are not scripts.
        (
            "monitoring agent",
            az_records(
                write,
                &ext("AzureMonitorWindowsAgent"),
                Some(ext_body(
                    "Microsoft.Azure.Monitor",
                    "AzureMonitorWindowsAgent",
                )),
                user_claims(),
            ),
            &[],
        ),
        (
            "no body, agent name",
            az_rest(write, &ext("MDE.Linux"), None, None),
            &[],
        ),
        (
            "named like a script but an agent",
            az_records(
                write,
                &ext("customScriptHelper"),
                Some(ext_body(
                    "Microsoft.Azure.Monitor",
                    "AzureMonitorLinuxAgent",
                )),
                user_claims(),
            ),
            &[],
        ),
        (
            "scale set run command",
            az_records(
                "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action",
                &arm(
                    "prod",
                    "Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/0",
                ),
                None,
                user_claims(),
            ),
            &[],
        ),
    ]);
}

#[test]
fn azure_boot_data_on_the_vm_write() {
    let vm = arm("prod", "Microsoft.Compute/virtualMachines/web01");
    let boot = "azure-vm-user-data-or-custom-data-set";
    // The body-carrying VM write is also the step of the Azure disk swap's fallback.
    let changed = "azure-vm-written-with-request-body";
    // Boot code on the VM write: also the VM step.
    table(&[
        (
            "userData",
            az_records(
                "Microsoft.Compute/virtualMachines/write",
                &vm,
                Some(json!({"properties": {"userData": "IyEvYmluL3NoCmN1cmwgLi4u"}})),
                user_claims(),
            ),
            &[changed, boot],
        ),
        (
            "customData",
            az_rest(
                "Microsoft.Compute/virtualMachines/write",
                &vm,
                Some(
                    json!({"location": "westeurope", "properties": {"osProfile": {"computerName": "web01", "adminUsername": "azureuser", "customData": "I2Nsb3VkLWNvbmZpZw=="}}}),
                ),
                None,
            ),
            &[changed, boot],
        ),
        (
            "VM write of the OS disk",
            az_la(
                "Microsoft.Compute/virtualMachines/write",
                &vm,
                Some(json!({"properties": {"storageProfile": {"osDisk": {"name": "d"}}}})),
            ),
            &[changed],
        ),
    ]);
}

/// A setMetadata entry as Compute Engine logs it: values redacted, the changed keys in
/// `protoPayload.metadata` (Panther's samples), and optionally the request's items.
fn set_metadata(
    method: &str,
    resource: &str,
    metadata: Value,
    request: Value,
) -> snapback_ingest::Event {
    let mut r = json!({
        "logName": "projects/p1/logs/cloudaudit.googleapis.com%2Factivity",
        "operation": {"id": "operation-7", "producer": "compute.googleapis.com", "first": true},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "methodName": method,
            "serviceName": "compute.googleapis.com",
            "resourceName": resource,
            "authenticationInfo": {"principalEmail": "eve@example.com"},
            "requestMetadata": {"callerIp": "203.0.113.7"},
            "request": request
        },
        "resource": {"type": "gce_instance", "labels": {"project_id": "p1", "zone": "us-central1-a"}},
        "timestamp": "2026-03-01T10:00:00Z",
        "insertId": "m1",
        "severity": "NOTICE"
    });
    if !metadata.is_null() {
        r["protoPayload"]["metadata"] = metadata;
    }
    decode(r)
}

const INST: &str = "projects/p1/zones/us-central1-a/instances/web-1";
const STARTUP: &str = "gcp-startup-script-metadata";
const SSH: &str = "gcp-instance-ssh-keys-metadata";

fn redacted() -> Value {
    json!({"@type": "type.googleapis.com/compute.instances.setMetadata"})
}

/// setMetadata on INST whose audit metadata names these changed keys (`kind`: added,
/// modified or deleted).
fn instance_keys(kind: &str, keys: &[&str]) -> snapback_ingest::Event {
    let delta = json!({"@type": "type.googleapis.com/google.cloud.audit.GceInstanceAuditMetadata",
                       "instanceMetadataDelta": {kind: keys}});
    set_metadata("v1.compute.instances.setMetadata", INST, delta, redacted())
}

/// setCommonInstanceMetadata whose audit metadata names these changed keys.
fn project_keys(kind: &str, keys: &[&str]) -> snapback_ingest::Event {
    let delta = json!({"@type": "type.googleapis.com/google.cloud.audit.GceProjectAuditMetadata",
                       "projectMetadataDelta": {kind: keys}});
    set_metadata(
        "v1.compute.projects.setCommonInstanceMetadata",
        "projects/p1",
        delta,
        redacted(),
    )
}

#[test]
fn gcp_startup_script_keys_in_metadata() {
    let added = "addedMetadataKeys";
    let items = json!({"fingerprint": "abc=",
                       "items": [{"key": "startup-script", "value": "curl x | sh"}]});
    table(&[
        (
            "startup-script added",
            instance_keys(added, &["startup-script"]),
            &[STARTUP],
        ),
        (
            "startup-script-url modified",
            instance_keys("modifiedMetadataKeys", &["startup-script-url"]),
            &[STARTUP],
        ),
        (
            "windows-startup-script-ps1",
            instance_keys(added, &["windows-startup-script-ps1"]),
            &[STARTUP],
        ),
        (
            "shutdown-script",
            instance_keys(added, &["shutdown-script"]),
            &[STARTUP],
        ),
        (
            "sysprep-specialize-script-cmd",
            instance_keys(added, &["sysprep-specialize-script-cmd"]),
            &[STARTUP],
        ),
        (
            "cloud-init user-data",
            instance_keys(added, &["user-data"]),
            &[STARTUP],
        ),
        (
            "request items (unredacted layout)",
            set_metadata("v1.compute.instances.setMetadata", INST, json!(null), items),
            &[STARTUP],
        ),
        (
            "project-wide startup script",
            project_keys(added, &["startup-script"]),
            &[STARTUP],
        ),
        (
            "startup-script deleted",
            instance_keys("deletedMetadataKeys", &["startup-script"]),
            &[],
        ),
        (
            "other keys",
            instance_keys(added, &["serial-port-enable", "user-data-2"]),
            &[],
        ),
    ]);
}

#[test]
fn gcp_ssh_keys_rule_only_for_ssh_keys_when_the_keys_are_named() {
    let added = "addedMetadataKeys";
    table(&[
        // Panther's SSH samples, and both keys at once.
        (
            "ssh-keys added",
            instance_keys(added, &["ssh-keys"]),
            &[SSH],
        ),
        (
            "project ssh-keys modified",
            project_keys("modifiedMetadataKeys", &["ssh-keys"]),
            &[SSH],
        ),
        (
            "ssh-keys and startup-script",
            instance_keys(added, &["ssh-keys", "startup-script"]),
            &[SSH, STARTUP],
        ),
        // A record that names no keys still counts as SSH keys (as before).
        (
            "no keys named",
            set_metadata(
                "v1.compute.instances.setMetadata",
                INST,
                json!(null),
                redacted(),
            ),
            &[SSH],
        ),
        (
            "a startup script only",
            instance_keys(added, &["startup-script"]),
            &[STARTUP],
        ),
        (
            "other key",
            instance_keys(added, &["serial-port-enable"]),
            &[],
        ),
    ]);
}
