//! Azure Activity Log records in the resource-log ("records") schema that diagnostic settings
//! write to a storage account: upper-cased `resourceId`/`operationName`, `identity.claims`,
//! double-encoded `properties.requestbody`, one record per phase sharing `correlationId`.

use serde_json::{json, Map, Value};

use crate::clock;
use crate::ids::Ids;
use crate::layout::canonical;

pub(crate) const LOCATION: &str = "westeurope";
/// Azure CLI's public client id, the `appid` of tokens a user gets with `az login`.
const AZURE_CLI_APP: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
/// Azure Portal's client id.
const AZURE_PORTAL_APP: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
/// Azure Backup "Backup Management Service" application id (commercial cloud), spec §6.2.
pub(crate) const BACKUP_MANAGEMENT_SERVICE_APP: &str = "262044b1-e2ce-469f-a196-69ab7ada62d3";

/// The tenant and subscription of a scenario.
#[derive(Clone, Debug)]
pub(crate) struct Tenancy {
    pub(crate) tenant: String,
    pub(crate) subscription: String,
}

impl Tenancy {
    pub(crate) fn new(ids: &Ids) -> Self {
        Tenancy {
            tenant: ids.uuid("azure/tenant"),
            subscription: ids.uuid("azure/subscription"),
        }
    }

    /// ARM id in the case the REST API returns it.
    pub(crate) fn arm(&self, group: &str, provider_path: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{group}/providers/{provider_path}",
            self.subscription
        )
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Who {
    User {
        upn: &'static str,
        given: &'static str,
        surname: &'static str,
        portal: bool,
    },
    App {
        appid: &'static str,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct AzPrincipal {
    pub(crate) key: &'static str,
    pub(crate) who: Who,
    pub(crate) ip: &'static str,
    /// Role the action was authorised by, and its built-in role definition id.
    pub(crate) role: (&'static str, &'static str),
}

impl AzPrincipal {
    fn object_id(&self, ids: &Ids) -> String {
        ids.uuid(&format!("azure/oid/{}", self.key))
    }

    fn claims(&self, ids: &Ids, t: &Tenancy, at: i64) -> Value {
        let oid = self.object_id(ids);
        let mut c = self.token_claims(ids, t, at, &oid);
        match &self.who {
            Who::User {
                upn,
                given,
                surname,
                portal,
            } => self.user_claims(&mut c, ids, upn, (given, surname), *portal),
            Who::App { appid } => app_claims(&mut c, t, appid, oid),
        }
        Value::Object(c)
    }

    /// The claims every token carries, user's or application's: audience, issuer, times, ids.
    fn token_claims(&self, ids: &Ids, t: &Tenancy, at: i64, oid: &str) -> Map<String, Value> {
        // Tokens are refreshed hourly; the claim times follow the token, not the call.
        let issued = (at - (at - clock::BASE_MS).rem_euclid(3_600_000) - 300_000) / 1000;
        let mut c = Map::new();
        let mut put = |k: &str, v: Value| {
            c.insert(k.to_string(), v);
        };
        put("aud", json!("https://management.core.windows.net/"));
        put(
            "iss",
            json!(format!("https://sts.windows.net/{}/", t.tenant)),
        );
        put("iat", json!(issued.to_string()));
        put("nbf", json!(issued.to_string()));
        put("exp", json!((issued + 4_877).to_string()));
        put(
            "aio",
            json!(ids.mixed(&format!("azure/aio/{}/{issued}", self.key), 56)),
        );
        put(
            "uti",
            json!(ids.mixed(&format!("azure/uti/{}/{at}", self.key), 22)),
        );
        put("ver", json!("1.0"));
        put(
            "http://schemas.microsoft.com/identity/claims/objectidentifier",
            json!(oid),
        );
        put(
            "http://schemas.microsoft.com/identity/claims/tenantid",
            json!(t.tenant),
        );
        put(
            "rh",
            json!(format!(
                "0.{}.",
                ids.mixed(&format!("azure/rh/{}", self.key), 40)
            )),
        );
        c
    }

    /// The claims of a user's token (`az login` or the portal), added to `c`.
    fn user_claims(
        &self,
        c: &mut Map<String, Value>,
        ids: &Ids,
        upn: &str,
        (given, surname): (&str, &str),
        portal: bool,
    ) {
        let mut put = |k: &str, v: Value| {
            c.insert(k.to_string(), v);
        };
        put(
            "appid",
            json!(if portal {
                AZURE_PORTAL_APP
            } else {
                AZURE_CLI_APP
            }),
        );
        put("appidacr", json!("0"));
        put(
            "http://schemas.microsoft.com/claims/authnclassreference",
            json!("1"),
        );
        put(
            "http://schemas.microsoft.com/claims/authnmethodsreferences",
            json!("pwd"),
        );
        put("ipaddr", json!(self.ip));
        put("name", json!(format!("{given} {surname}")));
        put(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
            json!(given),
        );
        put(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
            json!(surname),
        );
        put(
            "puid",
            json!(ids
                .hex(&format!("azure/puid/{}", self.key), 16)
                .to_uppercase()),
        );
        put(
            "http://schemas.microsoft.com/identity/claims/scope",
            json!("user_impersonation"),
        );
        put(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
            json!(ids.mixed(&format!("azure/sub/{}", self.key), 43)),
        );
        put(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            json!(upn),
        );
        put(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
            json!(upn),
        );
    }
}

/// The claims of an application's token (client credentials), added to `c`.
fn app_claims(c: &mut Map<String, Value>, t: &Tenancy, appid: &str, oid: String) {
    let mut put = |k: &str, v: Value| {
        c.insert(k.to_string(), v);
    };
    put("appid", json!(appid));
    put("appidacr", json!("2"));
    put("idtyp", json!("app"));
    put(
        "http://schemas.microsoft.com/identity/claims/identityprovider",
        json!(format!("https://sts.windows.net/{}/", t.tenant)),
    );
    put(
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
        json!(oid),
    );
}

/// One phase of an ARM operation, each its own record.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Phase {
    /// BeginRequest; carries `requestbody`.
    Start,
    /// HTTP 202 of a long-running operation.
    Accept,
    /// EndRequest; `resultSignature` is `Succeeded.<subStatus>`.
    Success {
        sub_status: &'static str,
        status_code: &'static str,
    },
}

/// An ARM call: all its phases share one correlation id.
pub(crate) struct AzCall<'a> {
    pub(crate) label: &'a str,
    pub(crate) principal: &'a AzPrincipal,
    /// Resource id in REST case; the export upper-cases it.
    pub(crate) resource_id: String,
    /// Operation name in REST case, e.g. `Microsoft.Compute/disks/write`.
    pub(crate) operation: &'static str,
    pub(crate) phases: Vec<(i64, Phase)>,
    pub(crate) request_body: Option<Value>,
    pub(crate) response_body: Option<Value>,
}

impl AzCall<'_> {
    /// `(time, record)` for each phase.
    pub(crate) fn records(self, ids: &Ids, t: &Tenancy) -> Vec<(i64, Value)> {
        let p = self.principal;
        let correlation = ids.uuid(&format!("{}/correlationId", self.label));
        let started = self.phases.first().map(|(at, _)| *at).unwrap_or_default();
        let mut out = Vec::new();
        for (n, (at, phase)) in self.phases.iter().enumerate() {
            let (result_type, signature) = match phase {
                Phase::Start => ("Start", "Started.".to_string()),
                Phase::Accept => ("Accept", "Accepted.Accepted".to_string()),
                Phase::Success { sub_status, .. } => ("Success", format!("Succeeded.{sub_status}")),
            };
            let mut props = Map::new();
            props.insert("eventCategory".into(), json!("Administrative"));
            props.insert("entity".into(), json!(self.resource_id));
            props.insert("message".into(), json!(self.operation));
            props.insert(
                "hierarchy".into(),
                json!(format!("{}/northwind-root/{}", t.tenant, t.subscription)),
            );
            match phase {
                Phase::Start => {
                    if let Some(body) = &self.request_body {
                        props.insert("requestbody".into(), json!(canonical(body)));
                    }
                }
                Phase::Accept => {
                    props.insert("statusCode".into(), json!("Accepted"));
                    props.insert(
                        "serviceRequestId".into(),
                        json!(ids.uuid(&format!("{}/serviceRequestId", self.label))),
                    );
                }
                Phase::Success { status_code, .. } => {
                    props.insert("statusCode".into(), json!(status_code));
                    props.insert(
                        "serviceRequestId".into(),
                        json!(ids.uuid(&format!("{}/serviceRequestId", self.label))),
                    );
                    if let Some(body) = &self.response_body {
                        props.insert("responseBody".into(), json!(canonical(body)));
                    }
                }
            }
            let record = json!({
                "time": clock::azure(*at, ids.below(&format!("{}/{n}/ticks", self.label), 10_000)),
                "resourceId": self.resource_id.to_uppercase(),
                "operationName": self.operation.to_uppercase(),
                "category": "Administrative",
                "resultType": result_type,
                "resultSignature": signature,
                "durationMs": at - started,
                "callerIpAddress": p.ip,
                "correlationId": correlation,
                "identity": {
                    "authorization": {
                        "scope": self.resource_id,
                        "action": self.operation,
                        "evidence": {
                            "role": p.role.0,
                            "roleAssignmentScope": format!("/subscriptions/{}", t.subscription),
                            "roleAssignmentId": ids.hex(&format!("azure/ra/{}", p.key), 32),
                            "roleDefinitionId": p.role.1.replace('-', ""),
                            "principalId": p.object_id(ids).replace('-', ""),
                            "principalType": match p.who { Who::User { .. } => "User", Who::App { .. } => "ServicePrincipal" },
                        },
                    },
                    "claims": p.claims(ids, t, *at),
                },
                "level": "Information",
                "location": "global",
                "properties": Value::Object(props),
            });
            out.push((*at, record));
        }
        out
    }
}

/// Start, then (for long-running actions) Accept, then Success.
pub(crate) fn lro(start: i64, accept_after_ms: i64, done_after_ms: i64) -> Vec<(i64, Phase)> {
    vec![
        (start, Phase::Start),
        (start + accept_after_ms, Phase::Accept),
        (
            start + done_after_ms,
            Phase::Success {
                sub_status: "",
                status_code: "OK",
            },
        ),
    ]
}

/// Start then Success with the given HTTP sub-status (`Created`, `OK`).
pub(crate) fn sync(
    start: i64,
    done_after_ms: i64,
    sub_status: &'static str,
    status_code: &'static str,
) -> Vec<(i64, Phase)> {
    vec![
        (start, Phase::Start),
        (
            start + done_after_ms,
            Phase::Success {
                sub_status,
                status_code,
            },
        ),
    ]
}
