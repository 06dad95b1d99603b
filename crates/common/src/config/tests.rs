//! Unit tests of `config`.

use super::*;
use secrecy::ExposeSecret;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Demo {
    greeting: Option<String>,
    secret: Option<SecretString>,
}
impl ServiceSettings for Demo {}

#[test]
fn defaults_work_with_nothing_set() {
    figment::Jail::expect_with(|_| {
        let c = Config::<Demo>::from_env("demo", 8123).unwrap();
        assert_eq!(c.shared.port, Some(8123));
        assert_eq!(c.shared.service_dir(), PathBuf::from(".craftchain/demo"));
        c.validate().unwrap();
        Ok(())
    });
}

#[test]
fn environment_overrides_and_port_wins() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("CRAFTCHAIN_DATA_DIR", "/tmp/x");
        jail.set_env("CRAFTCHAIN_DEMO_GREETING", "namaste");
        jail.set_env("CRAFTCHAIN_DEMO_SECRET", "hunter2");
        jail.set_env("CRAFTCHAIN_IDENTITY__AUDIENCE", "prod-project");
        jail.set_env("CRAFTCHAIN_DEMO_PORT", "9001");
        jail.set_env("PORT", "9002");
        let c = Config::<Demo>::from_env("demo", 8123).unwrap();
        assert_eq!(c.shared.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.shared.identity.audience, "prod-project");
        assert_eq!(c.shared.port, Some(9002));
        assert_eq!(c.service.greeting.as_deref(), Some("namaste"));
        let secret = c.service.secret.as_ref().unwrap();
        assert_eq!(secret.expose_secret(), "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        Ok(())
    });
}

#[test]
fn invalid_values_are_reported_before_binding() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("CRAFTCHAIN_ENVIRONMENT", "production");
        jail.set_env("CRAFTCHAIN_REQUEST_TIMEOUT_SECS", "0");
        let c = Config::<Demo>::from_env("demo", 1).unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("request_timeout_secs"), "{err}");
        assert!(err.contains("identity.issuer"), "{err}");
        jail.set_env("CRAFTCHAIN_PORT", "not-a-port");
        assert!(Config::<Demo>::from_env("demo", 1).is_err());
        Ok(())
    });
}

#[test]
fn the_firestore_store_is_configured_from_the_environment_and_checked() {
    figment::Jail::expect_with(|jail| {
        let c = Config::<Demo>::from_env("demo", 1).unwrap();
        assert_eq!(c.shared.store.backend, StoreBackend::Sqlite);

        jail.set_env("CRAFTCHAIN_STORE__BACKEND", "firestore");
        jail.set_env("CRAFTCHAIN_STORE__ROOT", "runs/r1");
        jail.set_env("CRAFTCHAIN_STORE__EMULATOR_HOST", "127.0.0.1:8931");
        let c = Config::<Demo>::from_env("demo", 1).unwrap();
        assert_eq!(c.shared.store.backend, StoreBackend::Firestore);
        assert_eq!(c.shared.store.database, "(default)");
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("needs gcp_project"), "{err}");
        assert!(err.contains("store.root \"runs/r1\""), "{err}");

        jail.set_env("CRAFTCHAIN_GCP_PROJECT", "craftchain-prod");
        jail.set_env("CRAFTCHAIN_STORE__ROOT", "runs/r1/services");
        assert!(
            Config::<Demo>::from_env("demo", 1)
                .unwrap()
                .validate()
                .is_ok()
        );
        Ok(())
    });
}
