//! Custom event properties as a QRadar administrator has to create them.
//!
//! A stock QRadar has none of the properties snapback resolves offline (`"Operation"`,
//! `"ResourceType"`, …, or the paths `aql export` names): the CloudTrail and Azure DSMs say
//! "Includes custom properties? No", so a search that reads one gets NULL there and every
//! condition on it fails. For each property a query uses, the linter therefore says what
//! QRadar needs (AQL-W016): per log source type, the expression of a custom event property
//! (IBM, "Configuring a custom property expression": JSON keypath, or a Java regular
//! expression on the payload), and `aql run --stock` runs the query as that stock QRadar
//! would (custom properties NULL).

use std::fmt::Write as _;

use snapback_model::Cloud;

use crate::ast::{Expr, ExprKind, Query, SelectItem};
use crate::error::Span;
use crate::keypath::{crosses_known_array, KeyPath};
use crate::view::{is_system_field, Builtin, PropertyDef, PropertyMap, PropertySource};

/// The clouds, in output order, with their QRadar log source type names.
pub const CLOUDS: [(Cloud, &str); 3] = [
    (Cloud::Aws, "Amazon AWS CloudTrail"),
    (Cloud::Azure, "Microsoft Azure Platform"),
    (Cloud::Gcp, "Google Cloud Audit Logs"),
];

/// How QRadar extracts one built-in property from one cloud's records (`None`: snapback
/// leaves it NULL for that cloud too).
pub fn builtin_extraction(b: Builtin, cloud: Cloud) -> Option<&'static str> {
    Some(match (b, cloud) {
        (Builtin::Operation, Cloud::Aws) => "JSON /\"eventName\"",
        (Builtin::Operation, Cloud::Azure) => {
            "JSON /\"operationName\" (/\"operationName\"/\"value\" in the REST schema)"
        }
        (Builtin::Operation, Cloud::Gcp) => "JSON /\"protoPayload\"/\"methodName\"",
        (Builtin::ResourceType, Cloud::Aws) => {
            "JSON /\"resources\"[0]/\"type\", then a second expression JSON /\"eventSource\" for records without resources"
        }
        (Builtin::ResourceType, Cloud::Azure) => {
            "regex (?i)\"resourceId\"\\s*:\\s*\"[^\"]*/providers/([^/\"]+/[^/\"]+) (capture group 1; snapback also appends nested types: MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS)"
        }
        (Builtin::ResourceType, Cloud::Gcp) => "JSON /\"resource\"/\"type\"",
        (Builtin::ResourceGroup, Cloud::Azure) => {
            "regex (?i)\"resourceId\"\\s*:\\s*\"[^\"]*/resourceGroups/([^/\"]+) (capture group 1)"
        }
        (Builtin::ResourceGroup, _) => return None,
        (Builtin::SubscriptionId, Cloud::Aws) => "JSON /\"recipientAccountId\"",
        (Builtin::SubscriptionId, Cloud::Azure) => {
            "regex (?i)\"resourceId\"\\s*:\\s*\"/subscriptions/([^/\"]+) (capture group 1)"
        }
        (Builtin::SubscriptionId, Cloud::Gcp) => {
            "JSON /\"resource\"/\"labels\"/\"project_id\""
        }
        (Builtin::ResultType, Cloud::Aws) => {
            "none: CloudTrail has no result field. snapback's choice: Success without errorCode, Failure with one, DryRun for Client.DryRunOperation; in QRadar map JSON /\"errorCode\" and test IS NULL for success"
        }
        (Builtin::ResultType, Cloud::Azure) => {
            "JSON /\"resultType\" (/\"status\"/\"value\" in the REST schema)"
        }
        (Builtin::ResultType, Cloud::Gcp) => {
            "none: snapback's choice: Success, Failure (protoPayload.status.code set), Accepted (first entry of a long-running operation); in QRadar map JSON /\"protoPayload\"/\"status\"/\"code\""
        }
    })
}

/// Whether a property comes from snapback's built-in mapping (for any cloud).
pub fn is_builtin(def: &PropertyDef) -> bool {
    [&def.aws, &def.azure, &def.gcp]
        .iter()
        .any(|s| matches!(s, Some(PropertySource::Builtin(_))))
}

/// What QRadar needs for `def`, one line per log source type that snapback maps.
pub fn extraction_lines(def: &PropertyDef) -> Vec<String> {
    let mut out = Vec::new();
    for (cloud, lst) in CLOUDS {
        let how = match source(def, cloud) {
            None => continue,
            Some(PropertySource::Builtin(b)) => match builtin_extraction(*b, cloud) {
                Some(h) => h.to_string(),
                None => continue,
            },
            Some(PropertySource::Path(p)) => match KeyPath::parse(p) {
                Ok(k) => format!("JSON {}", k.qradar()),
                Err(e) => format!("(unreadable path: {e})"),
            },
        };
        out.push(format!("{lst}: {how}"));
    }
    out
}

/// The arrays a mapped path crosses without an index, per log source type: where QRadar's
/// JSON property (and `aql run`) finds nothing. `(log source type, path, array)`.
pub fn array_crossings(def: &PropertyDef) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for (cloud, lst) in CLOUDS {
        if let Some(PropertySource::Path(p)) = source(def, cloud) {
            if let Ok(k) = KeyPath::parse(p) {
                if let Some(at) = crosses_known_array(&k, cloud) {
                    out.push((lst, k.qradar(), at));
                }
            }
        }
    }
    out
}

fn source(def: &PropertyDef, cloud: Cloud) -> Option<&PropertySource> {
    match cloud {
        Cloud::Aws => def.aws.as_ref(),
        Cloud::Azure => def.azure.as_ref(),
        Cloud::Gcp => def.gcp.as_ref(),
    }
}

/// The lint message for a custom property the query reads (AQL-W016): the first line says
/// what differs from a stock QRadar, the others what to create.
pub fn used_message(name: &str, def: &PropertyDef) -> String {
    let mut msg = if is_builtin(def) {
        format!(
            "\"{name}\" is a custom event property from snapback's built-in mapping, not a QRadar field: a stock QRadar has none (NULL there, and conditions on it fail; `aql run --stock` shows that result)"
        )
    } else {
        format!(
            "\"{name}\" is a custom event property (from --properties): a stock QRadar has none; it must exist in yours"
        )
    };
    msg.push_str(
        "\n  In QRadar create it (Admin > Custom Event Properties, one expression per log source type, \"parse in advance\" on):",
    );
    for line in extraction_lines(def) {
        msg.push_str("\n    ");
        msg.push_str(&line);
    }
    if def.name.eq_ignore_ascii_case("ResultType") && is_builtin(def) {
        msg.push_str(
            "\n  ResultType = 'Success' for CloudTrail (and Google Cloud) is snapback's choice, not a value QRadar has: see the lines above",
        );
    }
    msg
}

/// The custom properties a query reads, in order of first use, with where: every name that is
/// not a QRadar field or a SELECT alias.
pub fn used_properties(q: &Query) -> Vec<(String, Span)> {
    let aliases: Vec<String> = q
        .select
        .iter()
        .filter_map(|i| match i {
            SelectItem::Expr { alias: Some(a), .. } => Some(a.name.to_lowercase()),
            _ => None,
        })
        .collect();
    let mut roots: Vec<&Expr> = Vec::new();
    for item in &q.select {
        if let SelectItem::Expr { expr, .. } = item {
            roots.push(expr);
        }
    }
    roots.extend(q.where_.iter());
    roots.extend(q.group_by.iter());
    roots.extend(q.having.iter());
    roots.extend(q.order_by.iter().map(|k| &k.expr));
    let mut out: Vec<(String, Span)> = Vec::new();
    for root in roots {
        root.walk(&mut |e| {
            if let ExprKind::Column { name, .. } = &e.kind {
                let lower = name.to_lowercase();
                if !is_system_field(name)
                    && !aliases.contains(&lower)
                    && !out.iter().any(|(n, _)| n.to_lowercase() == lower)
                {
                    out.push((name.clone(), e.span));
                }
            }
        });
    }
    out.sort_by_key(|(_, span)| span.start);
    out
}

/// `aql lint --format toml`: the `--properties` file for a query, each property the query
/// reads with what QRadar needs in comments (the counterpart of `aql export --format toml`).
pub fn properties_toml(q: &Query, props: &PropertyMap) -> String {
    let mut out = String::from(
        "# Custom event properties read by this query (snapback aql lint --format toml).\n\
         # A stock QRadar has none of them: create each (Admin > Custom Event Properties,\n\
         # one expression per log source type, \"parse in advance\" on). Offline:\n\
         # snapback aql run --properties FILE ... (built-in ones need no entry).\n[properties]\n",
    );
    for (name, _) in used_properties(q) {
        let Some(def) = props.get(&name) else {
            let _ = writeln!(
                out,
                "# \"{name}\": not mapped, so NULL offline and in QRadar; give its path per cloud:\n# {} = {{ aws = \"…\", azure = \"…\", gcp = \"…\" }}",
                toml_key(&name)
            );
            continue;
        };
        let lines = extraction_lines(def);
        let _ = writeln!(out, "# \"{}\" in QRadar:", def.name);
        for l in &lines {
            let _ = writeln!(out, "#   {l}");
        }
        if is_builtin(def) {
            let _ = writeln!(out, "# (built in to snapback: no entry needed offline)");
            continue;
        }
        let clouds: Vec<String> = [("aws", &def.aws), ("azure", &def.azure), ("gcp", &def.gcp)]
            .into_iter()
            .filter_map(|(c, s)| match s {
                Some(PropertySource::Path(p)) => Some(format!("{c} = {}", toml_key(p))),
                _ => None,
            })
            .collect();
        let _ = writeln!(out, "{} = {{ {} }}", toml_key(&def.name), clouds.join(", "));
    }
    out
}

fn toml_key(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_says_what_qradar_needs() {
        let map = PropertyMap::default();
        for def in &map.defs {
            let lines = extraction_lines(def);
            assert!(!lines.is_empty(), "{}", def.name);
            assert!(used_message(&def.name, def).contains("a stock QRadar has none"));
        }
        let op = map.get("Operation").unwrap();
        assert_eq!(
            extraction_lines(op)[0],
            "Amazon AWS CloudTrail: JSON /\"eventName\""
        );
        let rg = map.get("ResourceGroup").unwrap();
        assert_eq!(extraction_lines(rg).len(), 1, "Azure only");
    }
}
