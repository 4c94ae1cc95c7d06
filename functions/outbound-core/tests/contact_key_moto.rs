//! The contact key's secret derived through KMS over HTTP (moto): a real HMAC key, a real
//! `GenerateMac`, and the refusals a deployment can meet.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (see `make test`).

use outbound_core::contact_key::ContactKeyer;
use outbound_core::testkit::moto::{hmac_key, sdk};

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn the_secret_is_stable_per_key_and_differs_between_keys() {
    let sdk = sdk().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let arn = hmac_key(&sdk).await;
    let first = ContactKeyer::from_kms(&kms, &arn).await.unwrap();
    let again = ContactKeyer::from_kms(&kms, &arn).await.unwrap();
    let other = ContactKeyer::from_kms(&kms, &hmac_key(&sdk).await)
        .await
        .unwrap();
    let key = |k: &ContactKeyer| k.key("spring", "C-1", "+442079460123");
    assert_eq!(
        key(&first),
        key(&again),
        "every cold start derives the same keys"
    );
    assert_ne!(key(&first), key(&other), "another deployment's keys differ");
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_encryption_key_or_a_missing_key_stops_the_function_with_a_clear_error() {
    let sdk = sdk().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let symmetric = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .and_then(|m| m.arn)
        .unwrap();
    let err = ContactKeyer::from_kms(&kms, &symmetric).await.unwrap_err();
    assert!(err.message.contains("kms:GenerateMac"), "{err}");
    assert!(err.message.contains(&symmetric), "names the key: {err}");

    let missing = "arn:aws:kms:eu-west-2:123456789012:key/00000000-0000-0000-0000-000000000000";
    let err = ContactKeyer::from_kms(&kms, missing).await.unwrap_err();
    assert!(err.message.contains(missing), "{err}");
}
