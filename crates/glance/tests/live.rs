#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The Keystone/Glance client against the live test bed (`.testbed/env`, or
//! the env file named by `RBD_NATIVE_TESTBED_ENV`): authentication from
//! `OS_*` variables and from clouds.yaml, the catalog, errors, stores
//! detail, a streamed upload and download, and an `rbd://` location added
//! with the new locations API.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use glance_client::{
    default_store, CloudConfig, ConfigLoader, Error, Glance, Keystone, LocationApi, NewImage,
    NewLocation,
};
use rbd_native_tests::{
    glance_download, glance_wait_hashed, pattern, unique_name, ScratchDir, Testbed,
};

/// Serializes the tests that move image data: the bed's Glance (one worker)
/// can leave a location-import task hanging when it runs beside an RBD
/// upload.
static DATA_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `body`, then deletes the images it registered in `ids` (retrying
/// while Glance still hashes them), whether `body` succeeded or panicked.
async fn with_cleanup<F>(glance: &Glance, ids: Arc<Mutex<Vec<String>>>, body: F)
where
    F: std::future::Future<Output = ()>,
{
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    let leftover: Vec<String> = ids.lock().unwrap().drain(..).collect();
    for id in leftover {
        if let Err(e) = delete_when_possible(glance, &id).await {
            eprintln!("cleanup: could not delete image {id}: {e}");
        }
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Deletes image `id`. Glance hashes an image in the background after a
/// location is added; while that holds the image a delete answers 409 (or,
/// with the bed's SQLite database busy, 500): try again for a while.
async fn delete_when_possible(glance: &Glance, id: &str) -> glance_client::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match glance.delete_image(id).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(
                e @ Error::Http {
                    status: 409 | 500, ..
                },
            ) if Instant::now() < deadline => {
                eprintln!("delete {id}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[tokio::test]
async fn password_auth_from_env_and_catalog_finds_glance() {
    let bed = Testbed::load();
    let config = bed.glance_config();
    assert_eq!(config.cloud, None);
    let keystone = Arc::new(Keystone::new(config).expect("keystone session"));
    let token = keystone.token().await.expect("token");
    assert!(token.project_id().is_some(), "project-scoped: {token:?}");
    assert!(
        token.has_role("service"),
        "uploader lacks service: {token:?}"
    );
    assert!(token
        .remaining()
        .is_some_and(|r| r > Duration::from_secs(60)));
    // The cached token is reused.
    let again = keystone.token().await.expect("token");
    assert_eq!(token.value(), again.value());
    // A forced re-authentication gives a new one.
    let fresh = keystone.reauthenticate().await.expect("re-authenticate");
    assert_ne!(token.value(), fresh.value());

    let endpoint = keystone.endpoint("image").await.expect("image endpoint");
    assert_eq!(
        glance_client::glance::normalize_endpoint(&endpoint),
        glance_client::glance::normalize_endpoint(&bed.var("GLANCE_URL"))
    );
    let glance = Glance::connect(keystone).await.expect("Glance");
    assert!(!glance.stores().await.expect("stores").is_empty());
}

#[tokio::test]
async fn password_auth_from_clouds_yaml() {
    let bed = Testbed::load();
    let config = ConfigLoader::with_env(bed.env_of(&["OS_CLOUD", "OS_CLIENT_CONFIG_FILE"]))
        .load()
        .expect("config from clouds.yaml");
    assert_eq!(config.cloud.as_deref(), Some(bed.var("OS_CLOUD").as_str()));
    assert!(config.password.is_some());
    let glance = glance_client::connect(config).await.expect("connect");
    let stores = glance.stores().await.expect("stores");
    assert!(stores.iter().any(|s| s.is_default), "{stores:?}");
}

#[tokio::test]
async fn a_given_token_is_used_as_it_is_when_no_project_is_set() {
    let bed = Testbed::load();
    let issued = Keystone::new(bed.glance_config())
        .expect("keystone session")
        .token()
        .await
        .expect("password token");
    let given = CloudConfig {
        auth_url: bed.glance_config().auth_url,
        region_name: bed.glance_config().region_name,
        token: Some(issued.value().into()),
        ..CloudConfig::default()
    };
    assert!(glance_client::keystone::reuses_token(&given));
    let keystone = Arc::new(Keystone::new(given.clone()).expect("keystone session"));
    let token = keystone.token().await.expect("the given token, validated");
    // The same token, described by Keystone: no new one was made.
    assert_eq!(token.value(), issued.value());
    assert_eq!(token.project_id(), issued.project_id());
    assert!(token.has_role("service"), "{token:?}");
    let (left, issued_left) = (token.remaining().unwrap(), issued.remaining().unwrap());
    assert!(
        left <= issued_left + Duration::from_secs(5)
            && left + Duration::from_secs(60) >= issued_left,
        "deadline from expires_at: {left:?} against {issued_left:?}"
    );
    let glance = Glance::connect(keystone)
        .await
        .expect("Glance with the given token");
    assert!(!glance.stores().await.expect("stores").is_empty());

    // With a project set, the token is exchanged for one scoped to it.
    let scoped = CloudConfig {
        project_name: bed.glance_config().project_name,
        project_domain_name: bed.glance_config().project_domain_name,
        ..given.clone()
    };
    assert!(!glance_client::keystone::reuses_token(&scoped));
    let exchanged = Keystone::new(scoped)
        .expect("keystone session")
        .token()
        .await
        .expect("exchanged token");
    assert_ne!(exchanged.value(), issued.value());
    assert_eq!(exchanged.project_id(), issued.project_id());

    // A token Keystone does not know: one clear message.
    let bad = CloudConfig {
        token: Some("gAAAAABnot-a-real-token".into()),
        ..given
    };
    let err = Keystone::new(bad)
        .expect("keystone session")
        .token()
        .await
        .expect_err("a made-up token accepted");
    let text = err.to_string();
    assert!(matches!(err.status(), Some(401 | 404)), "{text}");
    assert!(
        text.contains("OS_TOKEN") && text.contains("issue a new one"),
        "{text}"
    );
}

#[tokio::test]
async fn wrong_password_is_a_clear_401() {
    let bed = Testbed::load();
    let config = CloudConfig {
        password: Some("not-the-password".into()),
        ..bed.glance_config()
    };
    let keystone = Keystone::new(config).expect("keystone session");
    let err = keystone.token().await.expect_err("wrong password accepted");
    assert_eq!(err.status(), Some(401), "{err}");
    let text = err.to_string();
    assert!(text.contains("POST "), "{text}");
    assert!(text.contains("/auth/tokens"), "{text}");
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("requires authentication"), "{text}");
    assert!(
        text.contains(&format!("user {}", bed.var("OS_USERNAME"))),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "{text}");
}

#[tokio::test]
async fn unreachable_keystone_names_the_url() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = CloudConfig {
        auth_url: Some(format!("http://127.0.0.1:{port}/v3")),
        ..Testbed::load().glance_config()
    };
    let err = Keystone::new(config)
        .unwrap()
        .token()
        .await
        .expect_err("no server there");
    let text = err.to_string();
    assert!(matches!(err, Error::Connect { .. }), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/v3/auth/tokens")),
        "{text}"
    );
    assert!(text.contains("cannot reach"), "{text}");
}

#[tokio::test]
async fn stores_detail_shows_the_three_stores() {
    let bed = Testbed::load();
    let glance = bed.glance().await;
    let stores = glance.stores_detail().await.expect("stores detail");
    let store = |id: &str| {
        stores
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("no store {id} in {stores:?}"))
    };
    let ceph = store("ceph");
    assert!(ceph.is_default, "{ceph:?}");
    let rbd = ceph.rbd().expect("ceph is rbd");
    assert_eq!(rbd.pool.as_deref(), Some("images"));
    assert_eq!(rbd.fsid, Some(bed.fsid("CEPH_CONF")));
    assert!(rbd.chunk_size.is_some_and(|c| c > 0), "{rbd:?}");
    let other = store("other").rbd().expect("other is rbd");
    assert_eq!(other.pool.as_deref(), Some("images"));
    assert_eq!(other.fsid, Some(bed.fsid("CEPH_CONF_OTHER")));
    assert!(!store("other").is_default);
    let local = store("local");
    assert_eq!(local.store_type, "file");
    assert!(local.rbd().is_none());
    assert_eq!(default_store(&stores).map(|s| s.id.as_str()), Some("ceph"));
}

#[tokio::test]
async fn streamed_upload_then_download_gives_the_same_bytes() {
    let bed = Testbed::load();
    let _serial = DATA_TESTS.lock().await;
    let glance = bed.glance().await;
    let ids = Arc::new(Mutex::new(Vec::new()));
    let data = Bytes::from(pattern(3 * 1024 * 1024, 0x61a5));
    let body = {
        let (glance, ids, data) = (glance.clone(), ids.clone(), data.clone());
        async move {
            let image = glance
                .create_image(
                    &NewImage::raw(unique_name("glance-client-upload"))
                        .property("rbd_native_test", "upload"),
                )
                .await
                .expect("create image");
            ids.lock().unwrap().push(image.id.clone());
            assert_eq!(image.status, "queued");
            assert_eq!(image.property("rbd_native_test"), Some("upload"));

            // A generated stream of 48 chunks of 64 KiB, never a whole buffer,
            // sent with its length.
            let chunks = data.len().div_ceil(64 * 1024);
            let source = data.clone();
            let stream = futures_util::stream::iter(0..chunks).map(move |i| {
                let end = ((i + 1) * 64 * 1024).min(source.len());
                Ok::<_, std::io::Error>(source.slice(i * 64 * 1024..end))
            });
            glance
                .upload_stream(&image.id, stream, Some("ceph"), Some(data.len() as u64))
                .await
                .expect("upload");
            let active = glance
                .wait_for_status(&image.id, &["active"], Duration::from_secs(120))
                .await
                .expect("image active");
            assert_eq!(active.size, Some(data.len() as u64));
            assert_eq!(active.store_ids(), vec!["ceph"]);
            assert!(active.os_hash_value.is_some(), "{active:?}");

            let got = glance_download(&glance, &image.id).await;
            assert_eq!(got.len(), data.len());
            assert!(got == data.as_ref(), "downloaded bytes differ");

            glance.delete_image(&image.id).await.expect("delete");
            ids.lock().unwrap().clear();
            let err = glance
                .show_image(&image.id)
                .await
                .expect_err("deleted image still shown");
            assert!(err.is_not_found(), "{err}");
        }
    };
    with_cleanup(&glance, ids, body).await;
}

#[tokio::test]
async fn upload_from_a_reader_into_the_file_store() {
    let bed = Testbed::load();
    let _serial = DATA_TESTS.lock().await;
    let glance = bed.glance().await;
    let ids = Arc::new(Mutex::new(Vec::new()));
    let data = pattern(1024 * 1024 + 5, 0xf11e);
    let body = {
        let (glance, ids, data) = (glance.clone(), ids.clone(), data.clone());
        async move {
            let image = glance
                .create_image(&NewImage::raw(unique_name("glance-client-reader")))
                .await
                .expect("create image");
            ids.lock().unwrap().push(image.id.clone());
            let reader = std::io::Cursor::new(data.clone());
            glance
                .upload_reader(&image.id, reader, Some("local"))
                .await
                .expect("upload");
            let active = glance
                .wait_for_status(&image.id, &["active"], Duration::from_secs(60))
                .await
                .expect("active");
            assert_eq!(active.store_ids(), vec!["local"]);
            assert_eq!(glance_download(&glance, &image.id).await, data);
        }
    };
    with_cleanup(&glance, ids, body).await;
}

/// Removes RBD images made for a test (snapshots first), whatever it
/// reached.
struct RbdCleanup<'a> {
    bed: &'a Testbed,
    specs: Vec<String>,
}

impl Drop for RbdCleanup<'_> {
    fn drop(&mut self) {
        for spec in &self.specs {
            self.bed.remove_image_and_snaps(spec);
        }
    }
}

#[tokio::test]
async fn rbd_location_with_the_new_api_becomes_active() {
    let bed = Testbed::load();
    let _serial = DATA_TESTS.lock().await;
    let glance = bed.glance().await;
    // An RBD image made with the rbd tool as Glance's store makes them:
    // data, then a protected snapshot named `snap`.
    let dir = ScratchDir::new("glance-client-location");
    let data = pattern(4 * 1024 * 1024 + 17, 0x10c);
    let file = dir.path().join("image.raw");
    std::fs::write(&file, &data).unwrap();
    let name = unique_name("glance-client-loc");
    let spec = format!("images/{name}");
    let _rbd_cleanup = RbdCleanup {
        bed: &bed,
        specs: vec![spec.clone()],
    };
    let rbd = |args: &[&str]| bed.rbd_ok(args);
    rbd(&["import", file.to_str().unwrap(), &spec]);
    rbd(&["snap", "create", &format!("{spec}@snap")]);
    rbd(&["snap", "protect", &format!("{spec}@snap")]);
    let url = format!("rbd://{}/images/{name}/snap", bed.fsid("CEPH_CONF"));

    let ids = Arc::new(Mutex::new(Vec::new()));
    let body = {
        let (glance, ids, data) = (glance.clone(), ids.clone(), data.clone());
        async move {
            let image = glance
                .create_image(&NewImage::raw(&name))
                .await
                .expect("create image");
            ids.lock().unwrap().push(image.id.clone());
            let api = glance
                .add_location(&image.id, &NewLocation::new(&url, Some("ceph")))
                .await
                .expect("add location");
            assert_eq!(api, LocationApi::AddLocation);
            let active = glance
                .wait_for_status(&image.id, &["active"], Duration::from_secs(120))
                .await
                .expect("image active");
            assert_eq!(active.size, Some(data.len() as u64), "{active:?}");
            assert_eq!(active.direct_url.as_deref(), Some(url.as_str()));
            assert_eq!(glance_download(&glance, &image.id).await, data);
            // Let Glance's background hashing end before the next test.
            glance_wait_hashed(&glance, &image.id).await;
        }
    };
    with_cleanup(&glance, ids, body).await;
}

#[tokio::test]
async fn nonexistent_image_is_a_404_with_glance_message() {
    let bed = Testbed::load();
    let glance = bed.glance().await;
    let id = "00000000-0000-4000-8000-000000000000";
    let err = glance.show_image(id).await.expect_err("image exists?");
    assert!(err.is_not_found(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("GET {}/v2/images/{id}", glance.endpoint())),
        "{text}"
    );
    assert!(text.contains("HTTP 404"), "{text}");
    assert!(
        text.contains(&format!("No image found with ID {id}")),
        "{text}"
    );
    assert!(!text.contains('<'), "HTML left in {text}");

    let err = glance
        .wait_for_status(id, &["active"], Duration::from_secs(5))
        .await
        .expect_err("wait on a missing image");
    assert!(matches!(err, Error::ImageFailed { .. }), "{err}");
}

#[tokio::test]
async fn wait_for_status_times_out_on_a_queued_image() {
    let bed = Testbed::load();
    let glance = bed.glance().await;
    let ids = Arc::new(Mutex::new(Vec::new()));
    let body = {
        let (glance, ids) = (glance.clone(), ids.clone());
        async move {
            let image = glance
                .create_image(&NewImage::raw(unique_name("glance-client-wait")))
                .await
                .expect("create image");
            ids.lock().unwrap().push(image.id.clone());
            let err = glance
                .wait_for_status(&image.id, &["active"], Duration::from_millis(700))
                .await
                .expect_err("a queued image became active");
            let text = err.to_string();
            assert!(matches!(err, Error::Timeout { .. }), "{text}");
            assert!(text.contains("still queued"), "{text}");
        }
    };
    with_cleanup(&glance, ids, body).await;
}
