//! Real storage servers on 127.0.0.1 for the tests (feature `emulators`): moto in server mode
//! (S3), Azurite (Azure Blob), gcp-storage-emulator (GCS), each started on a free port in a
//! temporary folder and killed when dropped; and uploading to them. `.ci/run` installs them
//! (pip, npm). When one is not installed, [`Emulator::start_or_skip`] fails the test under
//! `CI` and otherwise says loudly on stderr that the test did not run.
//!
//! Nothing here talks to anything but the emulator it started: the clients get explicit
//! endpoints and credentials, and Azurite runs with its telemetry off.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::connect::{connect, Client, Retries};
use crate::url::{Cloud, StoreUrl};
use crate::{runtime, StoreOptions};

/// Azurite's well-known development account and key (public, in Microsoft's documentation).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The keys the tests give moto (moto accepts any until IAM is switched on).
pub const MOTO_KEY_ID: &str = "AKIAEMULATORTEST0001";
pub const MOTO_SECRET: &str = "moto/emulator/secret/key/for/tests/only00";

/// One emulator process.
pub struct Emulator {
    pub cloud: Cloud,
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// Start the emulator of `cloud`, or `Err(why)` when it is not installed or did not
    /// come up.
    pub fn start(cloud: Cloud) -> Result<Emulator, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port()?;
        let p = port.to_string();
        let (program, args): (&str, Vec<&str>) = match cloud {
            Cloud::S3 => ("moto_server", vec!["-H", "127.0.0.1", "-p", &p]),
            Cloud::Azure => (
                "azurite-blob",
                vec![
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    &p,
                    "--silent",
                    "--skipApiVersionCheck",
                    "--loose",
                    "--disableTelemetry",
                    "--inMemoryPersistence",
                ],
            ),
            Cloud::Gcs => (
                "gcp-storage-emulator",
                vec![
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &p,
                    "--in-memory",
                    "-q",
                ],
            ),
        };
        // Its log goes to a file: a pipe nobody drains would fill and stall the server.
        let log_path = dir.path().join("emulator.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let child = Command::new(program)
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("`{program}` could not be started ({e}); is it installed?"))?;
        let mut emulator = Emulator {
            cloud,
            port,
            child,
            _dir: dir,
        };
        emulator.wait_ready(program)?;
        Ok(emulator)
    }

    /// [`start`](Self::start), or, when the emulator is not there: a panic under `CI` (the
    /// test must run there), else a loud note on stderr that `test` did not run, and `None`.
    pub fn start_or_skip(cloud: Cloud, test: &str) -> Option<Emulator> {
        match Emulator::start(cloud) {
            Ok(e) => Some(e),
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("CI is set but the {cloud:?} emulator is not available: {why}")
            }
            Err(why) => {
                eprintln!(
                    "\n*** {test} DID NOT RUN: the {cloud:?} emulator is not available: {why} \
                     (.ci/run installs it: pip install 'moto[server]' gcp-storage-emulator; \
                     npm install -g azurite) ***\n"
                );
                None
            }
        }
    }

    /// Whether a request to the endpoint gets an HTTP answer (any status).
    fn answers_http(&self) -> bool {
        let Ok(rt) = runtime() else {
            return false;
        };
        let url = self.endpoint();
        rt.block_on(async {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build();
            match client {
                Ok(c) => c.get(&url).send().await.is_ok(),
                Err(_) => false,
            }
        })
    }

    fn wait_ready(&mut self, program: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._dir.path().join("emulator.log"))
                    .unwrap_or_default();
                let tail: String = log
                    .chars()
                    .rev()
                    .take(600)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                return Err(format!("`{program}` exited ({status}): {}", tail.trim()));
            }
            // Listening is not serving: a loaded machine has seen the first request after
            // the port opened fail to be sent (CI, 2026-12-03). Ready once HTTP answers.
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() && self.answers_http() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "`{program}` did not listen on {} in 60 s",
            self.port
        ))
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The variables that point a client at this emulator, as a user would set them:
    /// `AWS_ENDPOINT_URL` + `AWS_ALLOW_HTTP` (and keys), an Azure connection string, or
    /// `STORAGE_EMULATOR_HOST`.
    pub fn env(&self) -> Vec<(String, String)> {
        let pairs: Vec<(&str, String)> = match self.cloud {
            Cloud::S3 => vec![
                ("AWS_ENDPOINT_URL", self.endpoint()),
                ("AWS_ALLOW_HTTP", "true".into()),
                ("AWS_ACCESS_KEY_ID", MOTO_KEY_ID.into()),
                ("AWS_SECRET_ACCESS_KEY", MOTO_SECRET.into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
            Cloud::Azure => vec![(
                "AZURE_STORAGE_CONNECTION_STRING",
                format!(
                    "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};\
                     AccountKey={AZURITE_KEY};BlobEndpoint={}/{AZURITE_ACCOUNT};",
                    self.endpoint()
                ),
            )],
            Cloud::Gcs => vec![("STORAGE_EMULATOR_HOST", format!("127.0.0.1:{}", self.port))],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// For Azure: the emulator switch object_store reads (`AZURE_STORAGE_USE_EMULATOR`,
    /// with `AZURITE_BLOB_STORAGE_URL` for the port), the other way to reach Azurite.
    pub fn env_use_emulator(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_STORAGE_USE_EMULATOR".into(), "true".into()),
            ("AZURITE_BLOB_STORAGE_URL".into(), self.endpoint()),
        ]
    }

    /// Options that read this emulator.
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            env: self.env(),
            ..StoreOptions::default()
        }
    }

    /// Create a bucket (container).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let (method, url, headers) = match self.cloud {
            Cloud::S3 => ("PUT", format!("{}/{bucket}", self.endpoint()), vec![]),
            Cloud::Gcs => (
                "POST",
                format!("{}/storage/v1/b?project=snapback-test", self.endpoint()),
                vec![("content-type".to_owned(), "application/json".to_owned())],
            ),
            Cloud::Azure => {
                let path = format!("/{AZURITE_ACCOUNT}/{bucket}");
                let url = format!("{}{path}?restype=container", self.endpoint());
                (
                    "PUT",
                    url,
                    azure_shared_key("PUT", &path, "restype:container"),
                )
            }
        };
        let body = match self.cloud {
            Cloud::Gcs => format!("{{\"name\":\"{bucket}\"}}"),
            _ => String::new(),
        };
        let rt = runtime().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let client = reqwest::Client::new();
            let mut req = client
                .request(method.parse().map_err(|_| "method")?, &url)
                .body(body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let r = req.send().await.map_err(|e| e.to_string())?;
            match r.status().is_success() {
                true => Ok(()),
                false => Err(format!("creating {bucket}: {}", r.status())),
            }
        })
    }

    /// A client of `bucket` on this emulator, for uploads.
    pub fn uploader(&self, bucket: &str) -> Result<Uploader, String> {
        let url = StoreUrl::parse(&format!("{}://{bucket}/", self.cloud.scheme()))
            .map_err(|e| e.to_string())?;
        let rt = runtime().map_err(|e| e.to_string())?;
        let client = rt
            .block_on(connect(&url, &Retries::default(), &self.env()))
            .map_err(|e| e.to_string())?;
        Ok(Uploader {
            client,
            gcs: (self.cloud == Cloud::Gcs).then(|| (self.endpoint(), bucket.to_owned())),
        })
    }
}

/// Uploads to one bucket of an emulator.
pub struct Uploader {
    client: Client,
    /// GCS: (emulator endpoint, bucket). Uploads use the JSON API: the emulator answers
    /// `object_store`'s XML upload without the `ETag` header it requires.
    gcs: Option<(String, String)>,
}

impl Uploader {
    /// Put `bytes` at `key`; its ETag.
    pub fn put(&self, key: &str, bytes: Vec<u8>) -> Result<Option<String>, String> {
        if let Some((endpoint, bucket)) = &self.gcs {
            return gcs_upload(endpoint, bucket, key, bytes);
        }
        let path = ObjectPath::parse(key).map_err(|e| e.to_string())?;
        let store: &dyn ObjectStore = self.client.store.as_ref();
        let rt = runtime().map_err(|e| e.to_string())?;
        rt.block_on(store.put(&path, PutPayload::from(bytes)))
            .map(|r| r.e_tag)
            .map_err(|e| e.to_string())
    }

    /// Delete the object at `key`.
    pub fn delete(&self, key: &str) -> Result<(), String> {
        let path = ObjectPath::parse(key).map_err(|e| e.to_string())?;
        let store: &dyn ObjectStore = self.client.store.as_ref();
        let rt = runtime().map_err(|e| e.to_string())?;
        rt.block_on(store.delete(&path)).map_err(|e| e.to_string())
    }

    /// Upload every file under `dir` to `prefix` + its path under `dir`; the keys, sorted.
    pub fn put_dir(&self, dir: &Path, prefix: &str) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).map_err(|e| e.to_string())? {
                let p = entry.map_err(|e| e.to_string())?.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = p.strip_prefix(dir).map_err(|e| e.to_string())?;
                let key = format!("{prefix}{}", rel.to_string_lossy());
                self.put(&key, std::fs::read(&p).map_err(|e| e.to_string())?)?;
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }
}

fn gcs_upload(
    endpoint: &str,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
) -> Result<Option<String>, String> {
    let url = format!(
        "{endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
        crate::gcs_json::encode(key)
    );
    let rt = runtime().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(&url)
            .body(bytes)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("uploading {key}: {status}"));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        Ok(v.get("etag").and_then(|e| e.as_str()).map(str::to_owned))
    })
}

/// Moto's IAM, switched on: a user allowed `s3:ListBucket` and `s3:GetObject` on `bucket`
/// but denied `s3:GetObject` on `denied_key`; then every request must be signed by a known
/// user. Its (access key id, secret). Uses boto3 (moto's own dependency) for the IAM calls.
/// The reset body is sent as `text/plain`: under urllib's default form content type some
/// Werkzeug versions hand moto an empty body, and moto answers 500 (seen on CI).
pub fn moto_reader_denied(
    emulator: &Emulator,
    bucket: &str,
    denied_key: &str,
) -> Result<(String, String), String> {
    let script = r#"
import json, sys, boto3, urllib.request
endpoint, bucket, denied = sys.argv[1:4]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="AKIAEMULATORTEST0001",
                   aws_secret_access_key="moto/emulator/secret/key/for/tests/only00")
iam.create_user(UserName="reader")
policy = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
     "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]},
    {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/{denied}"}]}
iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(policy))
key = iam.create_access_key(UserName="reader")["AccessKey"]
urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                              headers={"Content-Type": "text/plain"}))
print(key["AccessKeyId"]); print(key["SecretAccessKey"])
"#;
    let out = Command::new("python3")
        .args(["-c", script, &emulator.endpoint(), bucket, denied_key])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned())),
        _ => Err(format!("unexpected output: {text}")),
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// The headers of a Shared Key request to Azurite (`x-ms-date`, `x-ms-version`,
/// `Authorization`): for creating a container, which `object_store` does not do.
fn azure_shared_key(verb: &str, path: &str, query_lines: &str) -> Vec<(String, String)> {
    let date = jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let to_sign = format!(
        "{verb}\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n\
         /{AZURITE_ACCOUNT}{path}\n{query_lines}"
    );
    let key = STANDARD.decode(AZURITE_KEY).unwrap_or_default();
    let signature = STANDARD.encode(hmac_sha256(&key, to_sign.as_bytes()));
    vec![
        ("x-ms-date".into(), date),
        ("x-ms-version".into(), version.into()),
        (
            "authorization".into(),
            format!("SharedKey {AZURITE_ACCOUNT}:{signature}"),
        ),
    ]
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| block.iter().map(|k| k ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            mac.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
