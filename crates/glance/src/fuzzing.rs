//! The fuzz target's body (`fuzz/fuzz_targets/glance_responses.rs`):
//! Keystone's and Glance's answers through the code that reads them.
//!
//! The first byte picks what the rest is:
//!
//! - 0: an error body (after a 2-byte status): the message extracted
//!   from it is short, whatever the body;
//! - 1, 2: a token answer (`POST` and `GET /v3/auth/tokens`): parsed, its
//!   expiry turned into a deadline, its catalog searched;
//! - 3: a stores detail answer: parsed, the default store and the RBD
//!   properties read;
//! - 4: an image, and 5 an image list: parsed, their stores read;
//! - 6: a timestamp, alone and as a token's expiry and issue time.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Method;

use crate::catalog::Catalog;
use crate::config::Interface;
use crate::error::{extract_message, MAX_MESSAGE_CHARS};
use crate::glance::images::Image;
use crate::glance::status_board::ImageList;
use crate::glance::stores::{default_store, StoreDetail, StoresBody};
use crate::http::parse_json;
use crate::keystone::{given_token_from_body, parse_timestamp, token_from_body, TokenBody};

const URL: &str = "http://fuzz.invalid/v2";

/// Runs one input (see the module's documentation).
pub fn responses(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 7 {
        0 => error_body(body),
        1 | 2 => token(body, kind % 7 == 2),
        3 => stores(body),
        4 => {
            if let Ok(image) = parse_json::<Image>(&Method::GET, URL, body) {
                read_image(&image);
            }
        }
        5 => {
            if let Ok(list) = parse_json::<ImageList>(&Method::GET, URL, body) {
                list.images.iter().for_each(read_image);
            }
        }
        _ => timestamp(body),
    }
}

fn error_body(body: &[u8]) {
    let Some((status, text)) = body.split_first_chunk::<2>() else {
        return;
    };
    let status = u16::from_be_bytes(*status);
    let message = extract_message(status, &String::from_utf8_lossy(text));
    assert!(!message.is_empty());
    assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS + 3,
        "{message}"
    );
}

/// A fixed wall clock: the same input runs the same way on every replay.
fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn token(body: &[u8], given: bool) {
    let parse = || parse_json::<TokenBody>(&Method::POST, URL, body).ok();
    let (Some(a), Some(b)) = (parse(), parse()) else {
        return;
    };
    let make = if given {
        given_token_from_body
    } else {
        token_from_body
    };
    let now = Instant::now();
    let t = make("token-a".into(), a.token, now, wall());
    let _ = t.needs_refresh();
    let _ = t.remaining();
    let _ = t.has_role("service");
    // The token's value is nowhere in its Debug output (whatever else the
    // answer holds): two tokens that differ by it alone print the same.
    let other = make("token-b".into(), b.token, now, wall());
    assert_eq!(format!("{t:?}"), format!("{other:?}"), "the token in Debug");
    search(t.catalog());
}

fn search(catalog: &Catalog) {
    for interface in [Interface::Public, Interface::Internal, Interface::Admin] {
        for region in [None, Some("RegionOne")] {
            if let Ok(url) = catalog.endpoint("image", interface, region) {
                assert!(!url.ends_with('/'), "{url}");
            }
        }
    }
}

fn stores(body: &[u8]) {
    let Ok(parsed) = parse_json::<StoresBody<StoreDetail>>(&Method::GET, URL, body) else {
        return;
    };
    let _ = default_store(&parsed.stores);
    for s in &parsed.stores {
        let rbd = s.rbd();
        assert_eq!(rbd.is_some(), s.is_rbd());
        let _ = s.property("pool");
    }
}

fn read_image(image: &Image) {
    for id in image.store_ids() {
        assert!(!id.is_empty() && !id.contains(','));
    }
    let _ = image.property("cinder_volume");
}

fn timestamp(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let _ = parse_timestamp(&text);
    // As a token's expiry, alone and against a fixed issue time.
    for issued in [None, Some("2026-01-01T00:00:00Z")] {
        let info = serde_json::json!({"expires_at": text, "issued_at": issued});
        let body = serde_json::to_vec(&serde_json::json!({ "token": info })).unwrap_or_default();
        token(&body, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_runs_on_a_sample() {
        let samples: &[(u8, &[u8])] = &[
            (0, b"\x01\x94<html><head>x</head><body>404 Not Found</body></html>"),
            (
                1,
                br#"{"token":{"expires_at":"2026-11-25T15:24:03Z","issued_at":"2026-11-25T14:24:03Z","catalog":[{"type":"image","endpoints":[{"interface":"public","url":"http://g/"}]}]}}"#,
            ),
            (
                3,
                br#"{"stores":[{"id":"ceph","type":"rbd","default":"true","properties":{"pool":"images","fsid":"f"}}]}"#,
            ),
            (4, br#"{"id":"i","status":"active","stores":"a,,b"}"#),
            (5, br#"{"images":[{"id":"i","status":"queued"}]}"#),
            (6, b"9999999999-01-01T00:00:00Z"),
        ];
        for (kind, body) in samples {
            responses(&[&[*kind], *body].concat());
        }
        responses(b"");
    }
}
