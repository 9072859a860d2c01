//! syslog+tls:// against a rustls receiver, with a throw-away CA and server certificate made by
//! openssl.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use snapback_output::{sample, ForwardOptions, Forwarder, Target};

#[test]
fn forwards_over_tls_and_checks_the_certificate() {
    if !support::require(
        "openssl (Debian package openssl)",
        support::have_program("openssl") || std::path::Path::new("/usr/bin/openssl").exists(),
        "apt-get install openssl",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let (ca, ca_key, cert, key, csr, ext) = (
        p("ca.pem"),
        p("ca.key"),
        p("cert.pem"),
        p("key.pem"),
        p("leaf.csr"),
        p("leaf.ext"),
    );
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let ok = Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl {args:?}");
    };
    let o = |s: &str| std::ffi::OsString::from(s);
    // A throw-away CA, and a server certificate it signs.
    run(&[
        &o("req"),
        &o("-x509"),
        &o("-newkey"),
        &o("rsa:2048"),
        &o("-nodes"),
        &o("-days"),
        &o("1"),
        &o("-subj"),
        &o("/CN=snapback test CA"),
        &o("-keyout"),
        ca_key.as_os_str(),
        &o("-out"),
        ca.as_os_str(),
    ]);
    run(&[
        &o("req"),
        &o("-newkey"),
        &o("rsa:2048"),
        &o("-nodes"),
        &o("-subj"),
        &o("/CN=localhost"),
        &o("-keyout"),
        key.as_os_str(),
        &o("-out"),
        csr.as_os_str(),
    ]);
    run(&[
        &o("x509"),
        &o("-req"),
        &o("-in"),
        csr.as_os_str(),
        &o("-CA"),
        ca.as_os_str(),
        &o("-CAkey"),
        ca_key.as_os_str(),
        &o("-CAcreateserial"),
        &o("-days"),
        &o("1"),
        &o("-extfile"),
        ext.as_os_str(),
        &o("-out"),
        cert.as_os_str(),
    ]);
    // The receiver: a rustls server that reads one connection after another until it has
    // three messages.
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(&key).unwrap();
    let cfg = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut got = String::new();
        for sock in listener.incoming() {
            let sock = sock.unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut buf = Vec::new();
            let _ = tls.read_to_end(&mut buf); // ends at close_notify, EOF or an error
            got.push_str(&String::from_utf8_lossy(&buf));
            if got.matches("alertId=").count() >= 3 {
                return got;
            }
        }
        got
    });
    let alerts: Vec<_> = (0..3).map(sample::alert).collect();
    // A certificate the server does not have: the handshake must fail, nothing is sent.
    let other = dir.path().join("other.pem");
    std::fs::write(&other, include_str!("support/unrelated-ca.pem")).unwrap();
    let t = Target::parse(&format!("syslog+tls://127.0.0.1:{port}"), Some(other)).unwrap();
    let mut f = Forwarder::new(
        t,
        ForwardOptions {
            retry_for: Duration::from_millis(300),
            verbose: false,
            ..Default::default()
        },
    )
    .unwrap();
    f.send(&alerts[0]).unwrap();
    assert!(f.flush().is_err(), "an untrusted certificate was accepted");
    let t = Target::parse(&format!("syslog+tls://127.0.0.1:{port}"), Some(ca.clone())).unwrap();
    let mut f = Forwarder::new(
        t,
        ForwardOptions {
            verbose: false,
            ..Default::default()
        },
    )
    .unwrap();
    for a in &alerts {
        f.send(a).unwrap();
    }
    let stats = f.flush().unwrap();
    assert_eq!(stats.written, 3);
    drop(f); // sends close_notify
    let out = server.join().unwrap();

    for a in &alerts {
        assert_eq!(
            out.matches(&format!("\talertId={}\t", a.alert_id)).count(),
            1,
            "{out}"
        );
    }
}
