//! The HTTP key sources against wiremock: JWKS, Google's x509 map, errors.

use std::sync::Arc;
use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{claims, config, jwks_url, serve_jwks};
use crate::identity::{
    JwksUrl, KeyFetchError, KeySource, SigningKey, Verifier, VerifyError, X509Url,
};

/// A self-signed RSA-2048 certificate made with
/// `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=t -days 36500`.
const CERT_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIC+zCCAeOgAwIBAgIUQNyWLus7Rop2leY7/Z3ww6wjXXEwDQYJKoZIhvcNAQEL\n\
BQAwDDEKMAgGA1UEAwwBdDAgFw0yNjExMjQxMDI5MjdaGA8yMTI2MTAzMTEwMjky\n\
N1owDDEKMAgGA1UEAwwBdDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB\n\
ANU83vZA7Gd3SnfTQ9iMsyk+P9R2NkYlj+xC7lpP1RMRwrB6Rt6MKiuqKH9DpLKj\n\
iSp4Goa4FN0LqBjJJOo40fAhnMRKzsi8Mc6TJp+FuG3Mvx1unZ4NtpNPmjQRXWlC\n\
WLLq8svtScSM9VGaRpSGkEdsh33T+ubFXvZQr84n72Lq4rTDgx1/psTfc1QG+uBN\n\
CE4Nbe80t4WdUACQXyzQXAtpyhBqvqFvxFB65h7qPljduAfzq7RuKzghB6iJ8ksv\n\
wN2l2SJExaK06ogt2Fl6DXQYVuIeGHXCRVdP5M3xDRzDvSGJhpL5YJAClrTj7Mzk\n\
zhvemX4mKvAlCledkPITGmECAwEAAaNTMFEwHQYDVR0OBBYEFDX9VBtv/+FlsS5I\n\
GbFKLOlsFCtLMB8GA1UdIwQYMBaAFDX9VBtv/+FlsS5IGbFKLOlsFCtLMA8GA1Ud\n\
EwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBAGipaO0e1N/71TsefNSzlhSL\n\
WSIs0/bLhzQJFbkbVxliHncvei8eOaWfMjLOIBiwMyOQ1wOfZobBsZBbkZ7Pybpx\n\
5ZDTWCzHrHJMWNt7+M5UEbzqkNCyogAZbTv5qTsEZpndBb91AY3wDFGJGeEO45AR\n\
hsv0BK4gm8+qWvZEk/+2mEUBxCsqnzRtB2k5K7Sm68fR/v6XtovwcSsX0YidsiRv\n\
yEbSu7hYWjTvYljs7oVLYZiYYPDigjrKvLetWmmC7ihmhVDs4BxMYd5NtqLPAU2M\n\
i9kLEjbbw3Lrc7I12zm3ky1bFhPi9oZq1i1viRqGN5KE8oUCyrRd2XoNCYzjKdk=\n\
-----END CERTIFICATE-----\n\
";

/// The private key of [`CERT_PEM`] (PKCS#8).
const KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDVPN72QOxnd0p3\n\
00PYjLMpPj/UdjZGJY/sQu5aT9UTEcKwekbejCorqih/Q6Syo4kqeBqGuBTdC6gY\n\
ySTqONHwIZzESs7IvDHOkyafhbhtzL8dbp2eDbaTT5o0EV1pQliy6vLL7UnEjPVR\n\
mkaUhpBHbId90/rmxV72UK/OJ+9i6uK0w4Mdf6bE33NUBvrgTQhODW3vNLeFnVAA\n\
kF8s0FwLacoQar6hb8RQeuYe6j5Y3bgH86u0bis4IQeoifJLL8DdpdkiRMWitOqI\n\
LdhZeg10GFbiHhh1wkVXT+TN8Q0cw70hiYaS+WCQApa04+zM5M4b3pl+JirwJQpX\n\
nZDyExphAgMBAAECggEAQqxXPKEdKdbDSoccqhuIM2ea1qglnTZGc4WT+FoI0f8W\n\
JE7/VLt3vhJkujIgz5hRnZ1TEfeB0oHADAvshm3AurgPx9JqKJqrah9ZjrxlZ7OC\n\
uEWrc81u3k2f9hLN5ckQadULmJa3n4TBecPmuK8Acsys6rt6smhZImQlLC0RbRhZ\n\
K3wrwH4yYkK88bcw8XTN5GfufsvnnT4ylrowkieVwQMSyEJ3EaV/0a31c3CJWJ8+\n\
MIUPD6ivwBKRBu6fMHeFdnRcK0mC7IypU+uPJhjBYMZdhLvu+0YRQEXcMQxJ8OmJ\n\
n2fLf7k7BeLwwkd72rysqHov9gMxa+hkKWzRRrpoZwKBgQDt4DBmdhAtFc/r2/b4\n\
dBY6Etjar/pJk4UNs0FRrXO/xlXUbbkihHZe8DbNWSihjjWer1qrH506bjUQXfx6\n\
ORDX/IDdctdJhzu0Wp1XBtZ7wr3MPAyEUW2Ens8vcIw0J+3OAmrnZSmEtx+rSMoY\n\
DDekW09PDTJaxEX3p3j7t9ElcwKBgQDlfB0jQSmKh/mOxY+ixLFLgh++jqwhFkVC\n\
xXtJYnN3rTpXLTToMBTUvhW4nxpotm+FSD3CPRTCh74QxUtZL+BbslEU81MlnhyP\n\
FuwfIdrja+iLsmZcEIdxWtKegPllPNOnVmu8ZloyX0YeTBWoH/wrh9GKtxLXH1l4\n\
3teJQjtr2wKBgArXe/0/hk83vklGtkPurpCpCT82ZBb0ZU0RjXmWiT8FYCYVdimv\n\
leGP2z+Sv7pVS/ZWkbBY+YaPPVXoorhDX5QoiwsMz+knA76dnqw3wJDVeGcVmZBy\n\
UaaIwnKsE4fRBhKso4i2YKUO35+j6qob7HFORBgbRt9CMNovxODcKOknAoGAHfot\n\
kDpl48vJZMYX8kpBYry3ytu2TogrOgK0DS0IKlz9nv+vxpjpT7UY/0oBWCZkwQNj\n\
1ejGunai9GvhYOApLbFIeDUk6mgSEPsMkzCH+GdTNFR0nJgoKT2U/9GXQotElrpq\n\
Tm0MYUIi1bhYp+KtvT37uGQb2PAmbuylOS/mtTsCgYB3WUYm0jk0bihyXT4novuZ\n\
ycCIOXqnojSxdh+7Z+qfrOWhoF6+Cu100LuoVcAi53AMZFXEIwak7BDfHVdI/1JR\n\
S7GegTFrvS+7rsHbey0lEvnrED891kmWglzMVexK2I2huSyWglkM7recWUsnINY1\n\
fUKHhOXULdYfERgvtosjOg==\n\
-----END PRIVATE KEY-----\n\
";

const CERT_KID: &str = "3f1ce7a1d9b2c6e4f0a8b5d7c9e1f3a5b7c9d1e3";

async fn serve(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/certs"))
        .respond_with(response)
        .mount(server)
        .await;
}

fn certs_url(server: &MockServer) -> url::Url {
    url::Url::parse(&format!("{}/certs", server.uri())).unwrap()
}

#[tokio::test]
async fn jwks_url_reads_keys_and_max_age() {
    let server = MockServer::start().await;
    let key = SigningKey::generate().unwrap();
    serve_jwks(&server, &[&key], Some(19845)).await;
    let source = JwksUrl::new(jwks_url(&server)).unwrap();
    let set = source.fetch().await.unwrap();
    assert_eq!(set.keys.len(), 1);
    assert!(set.keys.contains_key(key.kid()));
    assert_eq!(set.max_age, Some(Duration::from_secs(19845)));
    assert!(source.describe().ends_with("/.well-known/jwks.json"));
}

#[tokio::test]
async fn jwks_url_reports_bad_statuses_and_bodies() {
    let server = MockServer::start().await;
    let source = JwksUrl::new(certs_url(&server)).unwrap();
    serve(&server, ResponseTemplate::new(503)).await;
    let err = source.fetch().await.unwrap_err();
    assert!(
        matches!(err, KeyFetchError::Status { status: 503, .. }),
        "{err}"
    );

    server.reset().await;
    serve(
        &server,
        ResponseTemplate::new(200).set_body_string("<html>"),
    )
    .await;
    assert!(matches!(
        source.fetch().await,
        Err(KeyFetchError::Body { .. })
    ));

    server.reset().await;
    let huge = format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(2 << 20));
    serve(&server, ResponseTemplate::new(200).set_body_string(huge)).await;
    assert!(matches!(
        source.fetch().await,
        Err(KeyFetchError::Body { .. })
    ));
}

#[tokio::test]
async fn an_empty_key_document_leaves_the_verifier_unavailable() {
    let server = MockServer::start().await;
    serve_jwks(&server, &[], None).await;
    let verifier = Verifier::new(config(), Arc::new(JwksUrl::new(jwks_url(&server)).unwrap()));
    let err = verifier.warm().await.unwrap_err();
    assert!(matches!(
        err,
        VerifyError::KeysUnavailable(KeyFetchError::NoKeys { .. })
    ));
}

#[tokio::test]
async fn x509_url_verifies_tokens_signed_by_the_certificate_key() {
    let server = MockServer::start().await;
    let body = serde_json::json!({
        CERT_KID: CERT_PEM,
        "broken": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "../traversal": CERT_PEM,
    });
    let response = ResponseTemplate::new(200)
        .set_body_json(body)
        .insert_header("cache-control", "public, max-age=20000, must-revalidate");
    serve(&server, response).await;

    let source = X509Url::new(certs_url(&server)).unwrap();
    let set = source.fetch().await.unwrap();
    assert_eq!(set.keys.keys().collect::<Vec<_>>(), vec![CERT_KID]);
    assert_eq!(set.max_age, Some(Duration::from_secs(20000)));

    let signer = SigningKey::from_pkcs8_pem(CERT_KID, KEY_PEM).unwrap();
    let verifier = Verifier::new(config(), Arc::new(source));
    let claims = verifier
        .verify(&signer.sign(&claims()).unwrap())
        .await
        .unwrap();
    assert_eq!(claims.sub, "user-1");

    let other = SigningKey::generate().unwrap();
    let head = serde_json::json!({"alg": "RS256", "kid": CERT_KID});
    let forged = other.sign_with_header(&head, &super::claims()).unwrap();
    assert!(matches!(
        verifier.verify(&forged).await,
        Err(VerifyError::BadSignature)
    ));
}

#[tokio::test]
async fn x509_url_rejects_a_non_map_body() {
    let server = MockServer::start().await;
    serve(
        &server,
        ResponseTemplate::new(200).set_body_string("[1, 2]"),
    )
    .await;
    let source = X509Url::new(certs_url(&server)).unwrap();
    assert!(matches!(
        source.fetch().await,
        Err(KeyFetchError::Body { .. })
    ));
}
