//! librdkafka settings: the user's `--kafka KEY=VALUE` pairs, snapback's defaults beneath
//! them, and the few settings a guarantee depends on above them.

use rdkafka::config::ClientConfig;

use crate::KafkaError;

/// librdkafka settings given by the user (`--kafka KEY=VALUE`), in the order given; a key
/// given twice takes its last value. Any librdkafka property may be given (SASL, TLS,
/// timeouts, Event Hubs' connection string as `sasl.password`); librdkafka checks names and
/// values when the client is created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings(Vec<(String, String)>);

impl Settings {
    /// Parse `KEY=VALUE` arguments. The value may itself hold `=` (an Event Hubs connection
    /// string does); the key may not be empty.
    pub fn parse<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> Result<Settings, KafkaError> {
        let mut out = Settings::default();
        for arg in args {
            let arg = arg.as_ref();
            match arg.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => out.set(k.trim(), v),
                _ => {
                    return Err(KafkaError::BadSetting {
                        given: arg.to_owned(),
                    })
                }
            }
        }
        Ok(out)
    }

    /// Set `key` to `value`, replacing an earlier value.
    pub fn set(&mut self, key: &str, value: &str) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.to_owned()));
    }

    /// Forget `key` (a setting that means nothing to one kind of client).
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    /// The value given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A setting snapback must have, and why.
pub(crate) struct Required<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub why: &'static str,
}

/// The client configuration: `bootstrap.servers`, then snapback's `defaults`, then the
/// user's settings (which override defaults), then the `required` settings, which a user
/// setting may repeat but not contradict.
pub(crate) fn client_config(
    brokers: &str,
    defaults: &[(&str, &str)],
    settings: &Settings,
    required: &[Required<'_>],
) -> Result<ClientConfig, KafkaError> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (k, v) in defaults {
        config.set(*k, *v);
    }
    for (k, v) in settings.iter() {
        config.set(k, v);
    }
    for r in required {
        if let Some(given) = settings.get(r.key) {
            if !given.eq_ignore_ascii_case(r.value) {
                return Err(KafkaError::ConflictingSetting {
                    key: r.key.to_owned(),
                    given: given.to_owned(),
                    needed: r.value.to_owned(),
                    why: r.why,
                });
            }
        }
        config.set(r.key, r.value);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_equals_signs_in_values_and_the_last_of_a_key() {
        let s = Settings::parse([
            "sasl.password=Endpoint=sb://x/;SharedAccessKey=abc=",
            "acks=1",
            "acks=all",
        ])
        .unwrap();
        assert_eq!(
            s.get("sasl.password"),
            Some("Endpoint=sb://x/;SharedAccessKey=abc=")
        );
        assert_eq!(s.get("acks"), Some("all"));
        assert_eq!(s.iter().count(), 2);
    }

    #[test]
    fn parse_refuses_what_is_not_key_equals_value() {
        for bad in ["acks", "=1", " =1", ""] {
            let e = Settings::parse([bad]).unwrap_err();
            assert!(
                matches!(&e, KafkaError::BadSetting { given } if given == bad),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn a_required_setting_may_be_repeated_but_not_contradicted() {
        let need = [Required {
            key: "isolation.level",
            value: "read_committed",
            why: "test",
        }];
        let same = Settings::parse(["isolation.level=READ_COMMITTED"]).unwrap();
        let c = client_config("h:1", &[], &same, &need).unwrap();
        assert_eq!(c.get("isolation.level"), Some("read_committed"));
        let other = Settings::parse(["isolation.level=read_uncommitted"]).unwrap();
        let e = client_config("h:1", &[], &other, &need).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--kafka isolation.level=read_uncommitted: snapback needs \
             isolation.level=read_committed here (test)"
        );
    }

    #[test]
    fn user_settings_override_defaults() {
        let s = Settings::parse(["linger.ms=50"]).unwrap();
        let c = client_config("h:1", &[("linger.ms", "5"), ("acks", "all")], &s, &[]).unwrap();
        assert_eq!(c.get("linger.ms"), Some("50"));
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("bootstrap.servers"), Some("h:1"));
    }
}
