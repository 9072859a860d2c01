//! Building a client for a URL from the standard environment of each cloud, and the bridges
//! for what `object_store`'s `from_env` builders do not read themselves:
//!
//! | Cloud | `object_store` reads | bridged here |
//! |---|---|---|
//! | S3 | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, web identity, ECS container and EC2 instance credentials | `AWS_PROFILE` and the shared `credentials`/`config` files (static keys and region), the bucket's region when none is set |
//! | Azure | `AZURE_STORAGE_ACCOUNT_NAME`, `…_ACCOUNT_KEY`, `…_SAS_KEY`, `…_CLIENT_ID/SECRET`, `AZURE_TENANT_ID`, workload identity, managed identity, `AZURE_STORAGE_USE_EMULATOR` (+ `AZURITE_BLOB_STORAGE_URL`) | `AZURE_STORAGE_CONNECTION_STRING` (account, key, SAS, blob endpoint, `UseDevelopmentStorage=true`) |
//! | GCS | `GOOGLE_SERVICE_ACCOUNT` (path), `GOOGLE_SERVICE_ACCOUNT_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, workload identity, the metadata server | `STORAGE_EMULATOR_HOST` (the emulator's address: anonymous, plain HTTP) |

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::{BackoffConfig, ObjectStore, RetryConfig, StaticCredentialProvider};

use crate::error::{ObjstoreError, Secrets};
use crate::gcs_json::GcsJson;
use crate::url::{Cloud, StoreUrl};

/// Retries of a request that failed for a reason that may pass: throttling (429, 503
/// SlowDown), a server error (5xx), a broken connection. Exponential backoff with jitter
/// (`object_store`'s `RetryConfig`), then the object is a diagnostic.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    pub max_retries: usize,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// No retry starts after this long since the first try.
    pub give_up_after: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            max_retries: 10,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            give_up_after: Duration::from_secs(180),
        }
    }
}

impl Retries {
    pub(crate) fn config(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: self.first_backoff,
                max_backoff: self.max_backoff,
                base: 2.0,
            },
            max_retries: self.max_retries,
            retry_timeout: self.give_up_after,
        }
    }
}

/// A client for one URL's bucket, and what listing needs besides it.
pub(crate) struct Client {
    pub store: Arc<dyn ObjectStore>,
    /// GCS lists through its JSON API (`objects.list`), not the XML API `object_store` uses:
    /// the JSON API is the one every GCS endpoint and emulator serves (docs/decisions.md).
    pub gcs: Option<Arc<GcsJson>>,
    pub secrets: Secrets,
}

/// A client for `url`'s bucket, configured from the process environment with `overlay`
/// over it (what a caller or a test sets explicitly wins).
pub(crate) async fn connect(
    url: &StoreUrl,
    retries: &Retries,
    overlay: &[(String, String)],
) -> Result<Client, ObjstoreError> {
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    env.extend(overlay.iter().cloned());
    let secrets = secrets_of(&env);
    let config = |e: object_store::Error| ObjstoreError::Config {
        url: url.to_string(),
        detail: secrets.redact(&e.to_string()),
    };
    let (store, gcs): (Arc<dyn ObjectStore>, _) = match url.cloud {
        Cloud::S3 => {
            let b = s3_builder(url, &env).await.with_retry(retries.config());
            (Arc::new(b.build().map_err(config)?), None)
        }
        Cloud::Azure => {
            let b = azure_builder(url, &env)
                .map_err(|detail| ObjstoreError::Config {
                    url: url.to_string(),
                    detail,
                })?
                .with_retry(retries.config());
            (Arc::new(b.build().map_err(config)?), None)
        }
        Cloud::Gcs => {
            let (b, emulator) = gcs_builder(url, &env);
            let gcs = b.with_retry(retries.config()).build().map_err(config)?;
            let json = GcsJson::new(&gcs, url, emulator, *retries, secrets.clone())?;
            (Arc::new(gcs), Some(Arc::new(json)))
        }
    };
    Ok(Client {
        store,
        gcs,
        secrets,
    })
}

/// What `from_env` of each `object_store` builder does, over the merged environment: every
/// variable with the cloud's prefix that names a configuration key of the builder.
fn with_prefix<'e, K: std::str::FromStr>(
    env: &'e BTreeMap<String, String>,
    prefix: &'e str,
) -> impl Iterator<Item = (K, &'e str)> + 'e {
    env.iter()
        .filter(move |(k, _)| k.starts_with(prefix))
        .filter_map(|(k, v)| Some((k.to_ascii_lowercase().parse().ok()?, v.as_str())))
}

/// Every value of the environment that is a credential of one of the three clouds, and the
/// keys of the shared AWS files: what no message may show.
fn secrets_of(env: &BTreeMap<String, String>) -> Secrets {
    let secret_name = |k: &str| {
        ["AWS_", "AZURE_", "GOOGLE_"]
            .iter()
            .any(|p| k.starts_with(p))
            && [
                "SECRET",
                "KEY",
                "TOKEN",
                "SAS",
                "CONNECTION_STRING",
                "PASSWORD",
            ]
            .iter()
            .any(|s| k.contains(s))
            && !k.ends_with("_FILE")
    };
    let mut values: Vec<String> = env
        .iter()
        .filter(|(k, _)| secret_name(k))
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(cs) = env.get("AZURE_STORAGE_CONNECTION_STRING") {
        let parts = connection_string(cs);
        values.extend(
            ["AccountKey", "SharedAccessSignature"]
                .iter()
                .filter_map(|k| parts.get(*k).cloned()),
        );
    }
    if let Some(p) = aws_profile(env) {
        values.extend(p.secret_access_key.clone());
        values.extend(p.session_token.clone());
    }
    Secrets::new(values)
}

async fn s3_builder(url: &StoreUrl, env: &BTreeMap<String, String>) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::new().with_bucket_name(&url.bucket);
    for (key, value) in with_prefix(env, "AWS_") {
        b = b.with_config(key, value);
    }
    let keys_in_env = env.contains_key("AWS_ACCESS_KEY_ID");
    let profile = aws_profile(env);
    if let (false, Some(p)) = (keys_in_env, &profile) {
        if let (Some(id), Some(secret)) = (&p.access_key_id, &p.secret_access_key) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(t) = &p.session_token {
                b = b.with_token(t);
            }
        }
    }
    let region_set = env.contains_key("AWS_REGION") || env.contains_key("AWS_DEFAULT_REGION");
    match profile.and_then(|p| p.region).filter(|_| !region_set) {
        Some(region) => b = b.with_region(region),
        // No region anywhere and AWS's own endpoint: ask S3 where the bucket lives (one
        // unauthenticated HEAD), as the AWS CLI does after its redirect.
        None if !region_set && !has_endpoint(&b) => {
            let options = object_store::ClientOptions::default();
            if let Ok(r) = object_store::aws::resolve_bucket_region(&url.bucket, &options).await {
                b = b.with_region(r);
            }
        }
        None => {}
    }
    b
}

fn has_endpoint(b: &AmazonS3Builder) -> bool {
    [AmazonS3ConfigKey::Endpoint, AmazonS3ConfigKey::S3Endpoint]
        .iter()
        .any(|k| b.get_config_value(k).is_some())
}

/// The static keys and region of `AWS_PROFILE` (or `default`) in the shared files
/// (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, else `~/.aws/credentials` and
/// `~/.aws/config`). SSO and `credential_process` profiles are not read: export their
/// credentials to the environment (`aws configure export-credentials --format env`).
#[derive(Debug, Default, Clone)]
struct AwsProfile {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    region: Option<String>,
}

fn aws_profile(env: &BTreeMap<String, String>) -> Option<AwsProfile> {
    let home = env.get("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        env.get(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let name = env
        .get("AWS_PROFILE")
        .cloned()
        .unwrap_or_else(|| "default".into());
    let read = |p: Option<PathBuf>| p.and_then(|p| std::fs::read_to_string(p).ok());
    let creds = read(file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
    let config = read(file("AWS_CONFIG_FILE", "config"));
    if creds.is_none() && config.is_none() {
        return None;
    }
    let mut p = AwsProfile::default();
    if let Some(section) = creds.as_deref().and_then(|t| ini_section(t, &name)) {
        p.access_key_id = section.get("aws_access_key_id").cloned();
        p.secret_access_key = section.get("aws_secret_access_key").cloned();
        p.session_token = section.get("aws_session_token").cloned();
    }
    let config_name = match name.as_str() {
        "default" => "default".to_owned(),
        n => format!("profile {n}"),
    };
    if let Some(section) = config.as_deref().and_then(|t| ini_section(t, &config_name)) {
        p.region = section.get("region").cloned();
        if p.access_key_id.is_none() {
            p.access_key_id = section.get("aws_access_key_id").cloned();
            p.secret_access_key = section.get("aws_secret_access_key").cloned();
            p.session_token = section.get("aws_session_token").cloned();
        }
    }
    Some(p)
}

/// The `key = value` pairs of `[name]` in an INI text.
fn ini_section(text: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if found.is_some() {
                break;
            }
            if header.trim() == name {
                found = Some(BTreeMap::new());
            }
            continue;
        }
        if let (Some(map), Some((k, v))) = (found.as_mut(), line.split_once('=')) {
            map.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    found
}

fn azure_builder(
    url: &StoreUrl,
    env: &BTreeMap<String, String>,
) -> Result<MicrosoftAzureBuilder, String> {
    let mut b = MicrosoftAzureBuilder::new().with_container_name(&url.bucket);
    for (key, value) in with_prefix(env, "AZURE_") {
        b = b.with_config(key, value);
    }
    if let Some(msi) = env.get("MSI_ENDPOINT") {
        b = b.with_msi_endpoint(msi);
    }
    let Some(cs) = env.get("AZURE_STORAGE_CONNECTION_STRING") else {
        return Ok(b);
    };
    let parts = connection_string(cs);
    if parts
        .get("UseDevelopmentStorage")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(b.with_config(AzureConfigKey::UseEmulator, "true"));
    }
    let account = parts.get("AccountName").ok_or(
        "AZURE_STORAGE_CONNECTION_STRING names no AccountName (nor UseDevelopmentStorage=true)",
    )?;
    b = b.with_account(account);
    if let Some(key) = parts.get("AccountKey") {
        b = b.with_access_key(key);
    }
    if let Some(sas) = parts.get("SharedAccessSignature") {
        b = b.with_config(AzureConfigKey::SasKey, sas);
    }
    let endpoint = match (parts.get("BlobEndpoint"), parts.get("EndpointSuffix")) {
        (Some(e), _) => Some(e.trim_end_matches('/').to_owned()),
        (None, Some(suffix)) => {
            let proto = parts
                .get("DefaultEndpointsProtocol")
                .map_or("https", String::as_str);
            Some(format!("{proto}://{account}.blob.{suffix}"))
        }
        (None, None) => None,
    };
    if let Some(e) = endpoint {
        b = b.with_allow_http(e.starts_with("http://")).with_endpoint(e);
    }
    Ok(b)
}

/// `Key=Value;Key=Value` (values may hold `=`: keys and signatures do).
fn connection_string(cs: &str) -> BTreeMap<String, String> {
    cs.split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The GCS builder, and the emulator's base URL when `STORAGE_EMULATOR_HOST` names one.
fn gcs_builder(
    url: &StoreUrl,
    env: &BTreeMap<String, String>,
) -> (GoogleCloudStorageBuilder, Option<String>) {
    let mut b = GoogleCloudStorageBuilder::new().with_bucket_name(&url.bucket);
    if let Some(path) = env.get("SERVICE_ACCOUNT") {
        b = b.with_service_account_path(path);
    }
    for (key, value) in with_prefix(env, "GOOGLE_") {
        b = b.with_config(key, value);
    }
    let Some(host) = env.get("STORAGE_EMULATOR_HOST").filter(|h| !h.is_empty()) else {
        return (b, None);
    };
    let base = match host.contains("://") {
        true => host.trim_end_matches('/').to_owned(),
        false => format!("http://{}", host.trim_end_matches('/')),
    };
    let allow_http = "allow_http"
        .parse::<GoogleConfigKey>()
        .map(|k| (k, base.starts_with("http://")));
    // Anonymous: no request is signed, and a fixed placeholder token stands where a
    // credential would be fetched (object_store's uploads fetch one even when signatures are
    // skipped, which would ask the metadata server).
    let anonymous = GcpCredential {
        bearer: "emulator".to_owned(),
    };
    let mut b = b
        .with_config(GoogleConfigKey::BaseUrl, &base)
        .with_skip_signature(true)
        .with_credentials(Arc::new(StaticCredentialProvider::new(anonymous)));
    if let Ok((key, true)) = allow_http {
        b = b.with_config(key, "true");
    }
    (b, Some(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_from_the_shared_files() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = AKIADEFAULT\n[audit]\naws_access_key_id=AKIAAUDIT\n\
             aws_secret_access_key = s3cr3t/abcdefgh\n",
        )
        .unwrap();
        std::fs::write(&config, "[profile audit]\nregion = eu-west-1\n").unwrap();
        let env: BTreeMap<String, String> = [
            ("AWS_PROFILE", "audit"),
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let p = aws_profile(&env).unwrap();
        assert_eq!(p.access_key_id.as_deref(), Some("AKIAAUDIT"));
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
        let redacted = secrets_of(&env).redact("key s3cr3t/abcdefgh leaked");
        assert_eq!(redacted, "key [redacted] leaked");
    }

    #[test]
    fn a_connection_string_keeps_the_equals_signs_of_its_key() {
        let cs = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;\
                  AccountKey=Eby8vdM02xNOcqF==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";
        let parts = connection_string(cs);
        assert_eq!(parts["AccountKey"], "Eby8vdM02xNOcqF==");
        assert_eq!(
            parts["BlobEndpoint"],
            "http://127.0.0.1:10000/devstoreaccount1"
        );
    }
}
