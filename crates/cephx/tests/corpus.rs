//! Every sample of the cephx structures we define, in the Ceph object
//! corpus, decodes with no bytes left over; a sample of the version we
//! write re-encodes to the same bytes, and an older one re-encodes to bytes
//! that decode to the same value.
//!
//! The corpus is found through `CEPH_OBJECT_CORPUS` (a folder holding
//! `archive/<version>/objects/<type>/<sample>`); without it the test says so
//! and passes.
//!
//! Corpus types that are not listed here (CephXServiceTicketInfo,
//! CephXChallengeBlob, AuthTicket, AuthCapsInfo, EntityAuth) are what the
//! monitor and the services keep or seal for themselves: a client never
//! decodes them, and this crate does not define them.

use rbd_native_tests::{corpus_archive, sorted_entries};
use std::collections::BTreeSet;
use std::io::Write;

use ceph_cephx::wire::{
    Authenticate, Authorize, AuthorizeChallenge, AuthorizeReply, RequestHeader, ResponseHeader,
    ServerChallenge, ServiceTicket, ServiceTicketRequest, TicketBlob,
};
use ceph_cephx::CryptoKey;
use ceph_encoding::features::CEPH_FEATURES_ALL;
use ceph_encoding::{Decode, Encode};

/// Written straight to stderr so that it shows even when the test passes.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// How a sample fared.
enum Outcome {
    /// Re-encoding gave the sample's bytes.
    Identical,
    /// An older version: re-encoded in ours, it decodes to the same value.
    Upgraded,
}

/// `version`: the leading version byte this crate writes, if the type has
/// one. A sample of that version (or of an unversioned type) must
/// re-encode to the same bytes; an older one must survive re-encoding.
fn check<T: Decode + Encode + PartialEq + std::fmt::Debug>(
    data: &[u8],
    version: Option<u8>,
) -> Result<Outcome, String> {
    let value = T::decode_exact(data).map_err(|e| e.to_string())?;
    let bytes = value.to_bytes(CEPH_FEATURES_ALL);
    if bytes[..] == *data {
        return Ok(Outcome::Identical);
    }
    match (version, data.first()) {
        (Some(ours), Some(&theirs)) if theirs < ours => {
            let again = T::decode_exact(&bytes).map_err(|e| format!("re-encoded: {e}"))?;
            if again == value {
                Ok(Outcome::Upgraded)
            } else {
                Err(format!("v{theirs} re-encoded as v{ours} reads {again:?}"))
            }
        }
        _ => Err(format!(
            "re-encoding differs:\n  sample {}\n  ours   {}",
            hex(data),
            hex(&bytes)
        )),
    }
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

type Checker = fn(&[u8]) -> Result<Outcome, String>;

/// Corpus folder, checker, and the version byte we write (None: no version).
const TYPES: &[(&str, Checker, Option<u8>)] = &[
    (
        "CephXServerChallenge",
        |d| check::<ServerChallenge>(d, Some(1)),
        Some(1),
    ),
    (
        "CephXTicketBlob",
        |d| check::<TicketBlob>(d, Some(1)),
        Some(1),
    ),
    (
        "CephXAuthenticate",
        |d| check::<Authenticate>(d, Some(3)),
        Some(3),
    ),
    (
        "CephXServiceTicket",
        |d| check::<ServiceTicket>(d, Some(1)),
        Some(1),
    ),
    (
        "CephXServiceTicketRequest",
        |d| check::<ServiceTicketRequest>(d, Some(1)),
        Some(1),
    ),
    (
        "CephXAuthorize",
        |d| check::<Authorize>(d, Some(2)),
        Some(2),
    ),
    (
        "CephXAuthorizeChallenge",
        |d| check::<AuthorizeChallenge>(d, Some(1)),
        Some(1),
    ),
    (
        "CephXAuthorizeReply",
        |d| check::<AuthorizeReply>(d, Some(2)),
        Some(2),
    ),
    (
        "CephXRequestHeader",
        |d| check::<RequestHeader>(d, None),
        None,
    ),
    (
        "CephXResponseHeader",
        |d| check::<ResponseHeader>(d, None),
        None,
    ),
    ("CryptoKey", |d| check::<CryptoKey>(d, None), None),
];

/// Samples this crate refuses on purpose, with the reason: a `CryptoKey`
/// of type 0 (`CEPH_CRYPTO_NONE`, an empty secret) is what Ceph's
/// `generate_test_instances` writes for a default-constructed key; no
/// monitor hands one to a client, and our `CryptoKey` holds an AES key.
fn expected_refusal(type_name: &str, data: &[u8]) -> Option<&'static str> {
    let none_key = |at: usize| data.get(at..at + 2) == Some(&[0, 0][..]);
    match type_name {
        "CryptoKey" if none_key(0) => Some("CryptoKey of type NONE"),
        "CephXServiceTicket" if none_key(1) => Some("session key of type NONE"),
        _ => None,
    }
}

#[test]
fn corpus_cephx_samples_decode_and_reencode() {
    let archive = match corpus_archive() {
        Ok(a) => a,
        Err(why) => {
            say(&format!("cephx corpus test SKIPPED: {why}"));
            return;
        }
    };
    let mut failures = Vec::new();
    say(&format!(
        "{:<26} {:<24} {:>7} {:>9} {:>8} {:>7} versions",
        "type", "ceph", "samples", "identical", "upgraded", "refused"
    ));
    for (type_name, checker, versioned) in TYPES {
        let mut total = 0;
        for version in sorted_entries(&archive) {
            let samples = sorted_entries(&version.join("objects").join(type_name));
            if samples.is_empty() {
                continue;
            }
            let (mut identical, mut upgraded, mut refused) = (0, 0, 0);
            let mut versions = BTreeSet::new();
            for sample in &samples {
                let data = std::fs::read(sample)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", sample.display()));
                if versioned.is_some() {
                    versions.extend(data.first().copied());
                }
                match (checker(&data), expected_refusal(type_name, &data)) {
                    (Ok(Outcome::Identical), None) => identical += 1,
                    (Ok(Outcome::Upgraded), None) => upgraded += 1,
                    (Err(_), Some(_)) => refused += 1,
                    (Ok(_), Some(why)) => failures.push(format!(
                        "{}: expected a refusal ({why}) but it decoded",
                        sample.display()
                    )),
                    (Err(e), None) => failures.push(format!("{}: {e}", sample.display())),
                }
            }
            total += samples.len();
            let name = version
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            say(&format!(
                "{type_name:<26} {name:<24} {:>7} {identical:>9} {upgraded:>8} {refused:>7} {versions:?}",
                samples.len()
            ));
        }
        if total == 0 {
            failures.push(format!("no samples of {type_name}"));
        }
    }
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}
