#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The client against a fake Keystone/Glance served in the test, over
//! plain HTTP and over HTTPS with a CA made here: TLS verification (no CA,
//! `cacert`, `insecure`), re-authentication on 401 and before expiry, the
//! legacy location fallback and the headers and chunking of an upload. No
//! test bed needed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use glance_client::{CloudConfig, Error, Glance, Keystone, LocationApi, NewLocation};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request the fake server received.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The fake server's answer.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    /// A reply without a body (`204 No Content`, ...).
    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn html(status: u16, text: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!(
                "<html>\n <head>\n  <title>{status} {reason}</title>\n </head>\n <body>\n  \
                 <h1>{status} {reason}</h1>\n  {text}<br /><br />\n </body>\n</html>",
                reason = reqwest_reason(status)
            ),
        }
    }
}

/// The reason phrases of the statuses the fake uses.
fn reqwest_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Error",
    }
}

type Handler = Arc<dyn Fn(&Recorded, &str) -> Reply + Send + Sync>;

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1, optionally
/// behind TLS, answering with `handler` (given the request and the
/// server's base URL) and recording every request.
struct FakeServer {
    base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeServer {
    async fn start(tls: Option<tokio_rustls::TlsAcceptor>, handler: Handler) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{addr}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (recorded, base2) = (requests.clone(), base.clone());
        tokio::spawn(async move {
            // Bounded: the tests make a handful of requests.
            for _ in 0..200 {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (handler, recorded, base, tls) = (
                    handler.clone(),
                    recorded.clone(),
                    base2.clone(),
                    tls.clone(),
                );
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            // A client that refuses the certificate ends
                            // the handshake: nothing to serve.
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve(s, &handler, &recorded, &base).await;
                            }
                        }
                        None => serve(stream, &handler, &recorded, &base).await,
                    }
                });
            }
        });
        FakeServer { base, requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    handler: &Handler,
    recorded: &Mutex<Vec<Recorded>>,
    base: &str,
) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut rest = buf[head_end..].to_vec();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(&mut stream, &mut rest).await
    } else {
        let len: usize = get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while rest.len() < len {
            let mut chunk = [0u8; 65536];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
            }
        }
        Some(rest)
    };
    let Some(body) = body else { return };
    let request = Recorded {
        method,
        path,
        headers,
        body,
    };
    recorded.lock().unwrap().push(request.clone());
    let reply = handler(&request, base);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    let _ = stream.write_all(out.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Decodes a chunked body; None if the connection breaks off.
async fn read_chunked<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        // Read a size line.
        let line_end = loop {
            if let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") {
                break pos;
            }
            fill(stream, buf).await?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        buf.drain(..line_end + 2);
        while buf.len() < size + 2 {
            fill(stream, buf).await?;
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
        if size == 0 {
            return Some(body);
        }
    }
}

async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 65536];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

/// A fake Keystone and Glance on one server: tokens `tok-1`, `tok-2`, ...
/// valid `lifetime` seconds; Glance refuses the tokens in `refused`;
/// requests Keystone does not serve go to `glance`.
fn cloud_handler(
    lifetime: u64,
    refused: &'static [&'static str],
    glance: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) -> Handler {
    let issued = Arc::new(AtomicUsize::new(0));
    Arc::new(move |req: &Recorded, base: &str| {
        if req.method == "POST" && req.path == "/v3/auth/tokens" {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            if body["auth"]["identity"]["password"]["user"]["password"] != "pw" {
                return Reply::json(
                    401,
                    json!({"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}),
                );
            }
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            let mut reply = Reply::json(
                201,
                json!({"token": {
                    "issued_at": "2026-01-01T00:00:00.000000Z",
                    "expires_at": format!("2026-01-01T00:{:02}:{:02}.000000Z", lifetime / 60, lifetime % 60),
                    "project": {"id": "pid", "name": "service"},
                    "user": {"id": "uid"},
                    "roles": [{"name": "service"}],
                    "catalog": [{"type": "image", "endpoints": [
                        {"interface": "public", "region_id": "RegionOne", "url": format!("{base}/v2/")}
                    ]}],
                }}),
            );
            reply
                .headers
                .push(("X-Subject-Token".into(), format!("tok-{n}")));
            return reply;
        }
        let token = req.header("X-Auth-Token").unwrap_or_default();
        if !token.starts_with("tok-") || refused.contains(&token) {
            return Reply::html(401, "This server could not verify that you are authorized.");
        }
        glance(req)
    })
}

fn config(base: &str) -> CloudConfig {
    CloudConfig {
        auth_url: Some(format!("{base}/v3")),
        username: Some("uploader".into()),
        password: Some("pw".into()),
        user_domain_name: Some("Default".into()),
        project_name: Some("service".into()),
        project_domain_name: Some("Default".into()),
        region_name: Some("RegionOne".into()),
        ..CloudConfig::default()
    }
}

fn image_json(id: &str, status: &str) -> serde_json::Value {
    json!({"id": id, "status": status, "name": "n", "size": null, "protected": false, "tags": []})
}

#[tokio::test]
async fn glance_401_reauthenticates_once() {
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &["tok-1"], |req| {
            if req.path == "/v2/images/i1" {
                Reply::json(200, image_json("i1", "active"))
            } else {
                Reply::html(404, "The resource could not be found.")
            }
        }),
    )
    .await;
    let keystone = Arc::new(Keystone::new(config(&server.base)).unwrap());
    let glance = Glance::connect(keystone.clone()).await.unwrap();
    assert_eq!(glance.endpoint(), server.base);
    let image = glance.show_image("i1").await.expect("show after re-auth");
    assert_eq!(image.status, "active");
    assert_eq!(server.count("POST", "/v3/auth/tokens"), 2);
    assert_eq!(keystone.token().await.unwrap().value(), "tok-2");
    // The new token is kept.
    glance.show_image("i1").await.unwrap();
    assert_eq!(server.count("POST", "/v3/auth/tokens"), 2);
    // A 404 comes with Glance's message.
    let err = glance.show_image("nope").await.unwrap_err();
    assert!(err.is_not_found());
    assert!(
        err.to_string()
            .ends_with("HTTP 404: The resource could not be found."),
        "{err}"
    );
}

#[tokio::test]
async fn persistent_401_is_reported_after_one_retry() {
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &["tok-1", "tok-2", "tok-3"], |_| {
            Reply::json(200, json!({}))
        }),
    )
    .await;
    let glance = glance_client::connect(config(&server.base)).await.unwrap();
    let err = glance.stores().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert!(err.to_string().contains("could not verify"), "{err}");
    assert_eq!(server.count("GET", "/v2/info/stores"), 2);
}

#[tokio::test]
async fn token_is_renewed_before_it_expires() {
    // Two-second tokens: renewed once less than a second is left.
    let server =
        FakeServer::start(None, cloud_handler(2, &[], |_| Reply::json(200, json!({})))).await;
    let keystone = Keystone::new(config(&server.base)).unwrap();
    let first = keystone.token().await.unwrap();
    assert_eq!(keystone.token().await.unwrap().value(), first.value());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(first.needs_refresh());
    let second = keystone.token().await.unwrap();
    assert_ne!(second.value(), first.value());
}

#[tokio::test]
async fn wrong_password_message() {
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], |_| Reply::json(200, json!({}))),
    )
    .await;
    let c = CloudConfig {
        password: Some("bad".into()),
        ..config(&server.base)
    };
    let err = Keystone::new(c).unwrap().token().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "POST {}/v3/auth/tokens: HTTP 401: The request you have made requires authentication. \
             (password authentication as user uploader in project service)",
            server.base
        )
    );
}

#[tokio::test]
async fn a_given_unscoped_token_is_refused_before_glance() {
    let server = FakeServer::start(
        None,
        Arc::new(|req: &Recorded, _base: &str| {
            if req.method == "GET" && req.path == "/v3/auth/tokens" {
                Reply::json(
                    200,
                    json!({"token": {
                        "issued_at": "2026-01-01T00:00:00.000000Z",
                        "expires_at": "2099-01-01T00:00:00.000000Z",
                        "user": {"id": "uid"}, "roles": [], "catalog": [],
                    }}),
                )
            } else {
                Reply::html(404, "The resource could not be found.")
            }
        }),
    )
    .await;
    let c = CloudConfig {
        auth_url: Some(format!("{}/v3", server.base)),
        token: Some("given".into()),
        ..CloudConfig::default()
    };
    let err = Keystone::new(c).unwrap().token().await.unwrap_err();
    assert!(err.to_string().contains("not scoped to a project"), "{err}");
    // Validated, not exchanged: the token went as both headers.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("X-Auth-Token"), Some("given"));
    assert_eq!(reqs[0].header("X-Subject-Token"), Some("given"));
}

#[tokio::test]
async fn location_falls_back_to_the_legacy_patch() {
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], |req| {
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/v2/images/i1/locations") => {
                    Reply::html(404, "The resource could not be found.")
                }
                ("PATCH", "/v2/images/i1") => Reply::json(200, image_json("i1", "active")),
                _ => Reply::html(400, "unexpected"),
            }
        }),
    )
    .await;
    let glance = glance_client::connect(config(&server.base)).await.unwrap();
    let api = glance
        .add_location(
            "i1",
            &NewLocation::new("rbd://f/images/x/snap", Some("ceph")),
        )
        .await
        .unwrap();
    assert_eq!(api, LocationApi::Patch);
    let patch = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        patch.header("content-type"),
        Some("application/openstack-images-v2.1-json-patch")
    );
    let body: serde_json::Value = serde_json::from_slice(&patch.body).unwrap();
    assert_eq!(
        body,
        json!([{"op": "add", "path": "/locations/-",
                "value": {"url": "rbd://f/images/x/snap", "metadata": {"store": "ceph"}}}])
    );
    let post = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/locations"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body, json!({"url": "rbd://f/images/x/snap"}));
}

#[tokio::test]
async fn location_conflict_is_not_retried_as_legacy() {
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], |_| {
            Reply::html(409, "Image is not in queued state.")
        }),
    )
    .await;
    let glance = glance_client::connect(config(&server.base)).await.unwrap();
    let err = glance
        .add_location("i1", &NewLocation::new("rbd://f/p/x/snap", None))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(server.count("PATCH", "/v2/images/i1"), 0);
}

/// A 500 to the location request (MariaDB's deadlock on the import lock):
/// sent again while the image shows the attempt left nothing; taken as
/// added once the image holds the lock.
#[tokio::test]
async fn location_is_retried_after_a_server_error_that_left_nothing() {
    let posts = Arc::new(AtomicUsize::new(0));
    let seen = posts.clone();
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], move |req| {
            match (req.method.as_str(), req.path.as_str()) {
                // i1: the first POST deadlocks, the second goes through.
                ("POST", "/v2/images/i1/locations") => {
                    if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                        Reply::html(500, "Deadlock found when trying to get lock")
                    } else {
                        Reply::json(202, json!("i1"))
                    }
                }
                ("GET", "/v2/images/i1") => Reply::json(200, image_json("i1", "queued")),
                // i2: the POST fails after Glance took the lock.
                ("POST", "/v2/images/i2/locations") => Reply::html(500, "late failure"),
                ("GET", "/v2/images/i2") => {
                    let mut v = image_json("i2", "queued");
                    v["os_glance_import_task"] = json!("t1");
                    Reply::json(200, v)
                }
                // i3: always 500 with nothing taken: the error after two retries.
                ("POST", "/v2/images/i3/locations") => Reply::html(500, "broken"),
                ("GET", "/v2/images/i3") => Reply::json(200, image_json("i3", "queued")),
                _ => Reply::html(400, "unexpected"),
            }
        }),
    )
    .await;
    let glance = glance_client::connect(config(&server.base)).await.unwrap();
    let loc = NewLocation::new("rbd://f/images/x/snap", None);
    assert_eq!(
        glance.add_location("i1", &loc).await.unwrap(),
        LocationApi::AddLocation
    );
    assert_eq!(server.count("POST", "/v2/images/i1/locations"), 2);
    assert_eq!(
        glance.add_location("i2", &loc).await.unwrap(),
        LocationApi::AddLocation
    );
    assert_eq!(server.count("POST", "/v2/images/i2/locations"), 1);
    let err = glance.add_location("i3", &loc).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    assert_eq!(server.count("POST", "/v2/images/i3/locations"), 3);
    assert_eq!(server.count("PATCH", "/v2/images/i3"), 0);
}

/// Two waiters on one board share each round's list; an image the list
/// leaves out is shown by itself (gone: the wait fails as without the
/// board).
#[tokio::test]
async fn status_board_shares_one_list_per_round() {
    let lists = Arc::new(AtomicUsize::new(0));
    let seen = lists.clone();
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], move |req| {
            if req.method == "GET" && req.path.starts_with("/v2/images?id=in:") {
                let round = seen.fetch_add(1, Ordering::SeqCst);
                let status = |ready_at: usize| {
                    if round >= ready_at {
                        "active"
                    } else {
                        "queued"
                    }
                };
                let mut images = Vec::new();
                if req.path.contains("i1") {
                    images.push(image_json("i1", status(2)));
                }
                if req.path.contains("i2") {
                    images.push(image_json("i2", status(4)));
                }
                return Reply::json(200, json!({ "images": images }));
            }
            Reply::html(404, "The resource could not be found.")
        }),
    )
    .await;
    let glance = Arc::new(glance_client::connect(config(&server.base)).await.unwrap());
    let board = glance_client::StatusBoard::new(glance);
    let t = Duration::from_secs(20);
    let (a, b) = tokio::join!(
        board.wait_for_status("i1", &["active"], t),
        board.wait_for_status("i2", &["active"], t)
    );
    assert_eq!(a.unwrap().status, "active");
    assert_eq!(b.unwrap().status, "active");
    // Two waiters polling alone would have sent 3 + 5 requests.
    let n = lists.load(Ordering::SeqCst);
    assert!((5..8).contains(&n), "{n} lists");
    assert_eq!(server.count("GET", "/v2/images/i1"), 0);

    let err = board
        .wait_for_status("i3", &["active"], t)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ImageFailed { .. }), "{err}");
    assert_eq!(server.count("GET", "/v2/images/i3"), 1);
}

/// Glance's 500 to a delete that meets the end of a location import's
/// task: the delete is sent again, and a 404 after that counts as done.
#[tokio::test]
async fn delete_is_retried_after_a_server_error() {
    let deletes = Arc::new(AtomicUsize::new(0));
    let seen = deletes.clone();
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], move |req| {
            match (req.method.as_str(), req.path.as_str()) {
                ("DELETE", "/v2/images/i1") => {
                    if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                        Reply::html(500, "Operation file for %s does not exist, cannot cancel.")
                    } else {
                        Reply::empty(204)
                    }
                }
                ("DELETE", "/v2/images/i2") => {
                    if seen.fetch_add(1, Ordering::SeqCst) == 2 {
                        Reply::html(503, "busy")
                    } else {
                        Reply::html(404, "The resource could not be found.")
                    }
                }
                ("DELETE", "/v2/images/i3") => Reply::html(409, "Image is in use."),
                _ => Reply::html(400, "unexpected"),
            }
        }),
    )
    .await;
    let glance = glance_client::connect(config(&server.base)).await.unwrap();
    glance.delete_image("i1").await.unwrap();
    assert_eq!(server.count("DELETE", "/v2/images/i1"), 2);
    glance.delete_image("i2").await.unwrap();
    assert_eq!(server.count("DELETE", "/v2/images/i2"), 2);
    // A 404 at once is not found; a 409 is not retried.
    assert!(glance.delete_image("i2").await.unwrap_err().is_not_found());
    assert!(glance.delete_image("i3").await.unwrap_err().is_conflict());
    assert_eq!(server.count("DELETE", "/v2/images/i3"), 1);
}

#[tokio::test]
async fn upload_is_chunked_with_store_header() {
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], |req| {
            if req.method == "PUT" && req.path == "/v2/images/i1/file" {
                Reply::empty(204)
            } else {
                Reply::html(404, "no")
            }
        }),
    )
    .await;
    let glance = glance_client::connect(config(&server.base)).await.unwrap();
    // Ten chunks of 1000 bytes, chunk i all i.
    let chunks = || {
        futures_util::stream::iter(
            (0..10u8).map(|i| Ok::<_, std::io::Error>(Bytes::from(vec![i; 1000]))),
        )
    };
    glance
        .upload_stream("i1", chunks(), Some("local"), None)
        .await
        .unwrap();
    let put = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.header("content-type"), Some("application/octet-stream"));
    assert_eq!(put.header("x-image-meta-store"), Some("local"));
    assert_eq!(put.header("transfer-encoding"), Some("chunked"));
    assert_eq!(put.body.len(), 10_000);
    assert_eq!(put.body[9_999], 9);
    assert_eq!(put.header("x-openstack-image-size"), None);

    // A known size goes as x-openstack-image-size; the body is still
    // chunked, as python-glanceclient sends it.
    glance
        .upload_stream("i1", chunks(), None, Some(10_000))
        .await
        .unwrap();
    let put = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .nth(1)
        .unwrap();
    assert_eq!(put.header("x-openstack-image-size"), Some("10000"));
    assert_eq!(put.header("transfer-encoding"), Some("chunked"));
    assert_eq!(put.header("content-length"), None);
    assert_eq!(put.body.len(), 10_000);

    // An error of the source stream is reported as such.
    let failing = futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"abc")),
        Err(std::io::Error::other("disk on fire")),
    ]);
    let err = glance
        .upload_stream("i1", failing, None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("disk on fire"), "{err}");
}

/// A CA, and a server certificate for 127.0.0.1 signed by it; returns the
/// acceptor and the CA's PEM file.
fn tls_setup(tag: &str) -> (tokio_rustls::TlsAcceptor, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let ca_file =
        std::env::temp_dir().join(format!("glance-client-ca-{tag}-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(server_config)),
        ca_file,
    )
}

async fn tls_server(tag: &str) -> (FakeServer, PathBuf) {
    let (acceptor, ca_file) = tls_setup(tag);
    let server = FakeServer::start(
        Some(acceptor),
        cloud_handler(3600, &[], |_| Reply::json(200, json!({"stores": []}))),
    )
    .await;
    (server, ca_file)
}

#[tokio::test]
async fn tls_fails_without_the_ca() {
    let (server, ca_file) = tls_server("noca").await;
    let err = Keystone::new(config(&server.base))
        .unwrap()
        .token()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Connect { .. }), "{text}");
    assert!(
        text.contains(&format!("{}/v3/auth/tokens", server.base)),
        "{text}"
    );
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    let _ = std::fs::remove_file(ca_file);
}

#[tokio::test]
async fn tls_works_with_cacert() {
    let (server, ca_file) = tls_server("cacert").await;
    let c = CloudConfig {
        cacert: Some(ca_file.clone()),
        ..config(&server.base)
    };
    let glance = glance_client::connect(c).await.expect("TLS with the CA");
    assert!(glance.endpoint().starts_with("https://127.0.0.1:"));
    assert!(glance.stores().await.unwrap().is_empty());
    let _ = std::fs::remove_file(ca_file);
}

#[tokio::test]
async fn tls_works_insecure() {
    let (server, ca_file) = tls_server("insecure").await;
    let c = CloudConfig {
        insecure: true,
        ..config(&server.base)
    };
    let keystone = Keystone::new(c).unwrap();
    assert_eq!(
        keystone.token().await.expect("insecure TLS").value(),
        "tok-1"
    );
    let _ = std::fs::remove_file(ca_file);
}

#[tokio::test]
async fn bad_cacert_file_is_a_clear_error() {
    let missing = CloudConfig {
        cacert: Some(PathBuf::from("/nonexistent/ca.pem")),
        ..config("https://127.0.0.1:1")
    };
    let err = Keystone::new(missing).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    let file = std::env::temp_dir().join(format!("glance-client-notpem-{}", std::process::id()));
    std::fs::write(&file, "not a certificate").unwrap();
    let c = CloudConfig {
        cacert: Some(file.clone()),
        ..config("https://127.0.0.1:1")
    };
    let err = Keystone::new(c).unwrap_err().to_string();
    assert!(
        err.contains("no PEM certificate") || err.contains("PEM"),
        "{err}"
    );
    let _ = std::fs::remove_file(file);
}

/// A server anywhere a redirect may point: records what it gets and
/// answers as a Glance or a Keystone would, so that a client that follows
/// the redirect succeeds.
async fn redirect_target() -> FakeServer {
    FakeServer::start(
        None,
        Arc::new(|req: &Recorded, _base: &str| {
            if req.path == "/v3/auth/tokens" {
                let mut r = Reply::json(201, json!({"token": {"catalog": []}}));
                r.headers.push(("X-Subject-Token".into(), "stolen".into()));
                r
            } else {
                Reply::json(200, json!({"stores": []}))
            }
        }),
    )
    .await
}

fn redirect(status: u16, to: &str) -> Reply {
    Reply {
        status,
        headers: vec![("Location".into(), to.to_string())],
        body: String::new(),
    }
}

#[tokio::test]
async fn a_glance_redirect_to_another_address_never_carries_the_token() {
    let other = redirect_target().await;
    let to = format!("{}/v2/info/stores/detail", other.base);
    for status in [301, 302, 303, 307, 308] {
        let to = to.clone();
        let server = FakeServer::start(
            None,
            cloud_handler(3600, &[], move |req| {
                if req.path == "/v2/info/stores/detail" {
                    redirect(status, &to)
                } else {
                    Reply::html(404, "The resource could not be found.")
                }
            }),
        )
        .await;
        let keystone = Arc::new(Keystone::new(config(&server.base)).unwrap());
        let glance = Glance::connect(keystone).await.unwrap();
        let result = glance.stores_detail().await;
        let seen: Vec<Option<String>> = other
            .requests()
            .iter()
            .map(|r| r.header("X-Auth-Token").map(str::to_string))
            .collect();
        assert!(seen.is_empty(), "{status}: the other address got {seen:?}");
        let err = result.expect_err("a redirect to another address is an error");
        assert_eq!(err.status(), Some(status), "{err}");
        assert!(err.to_string().contains(&other.base), "{err}");
    }
}

#[tokio::test]
async fn a_keystone_redirect_to_another_address_never_carries_the_password() {
    let other = redirect_target().await;
    let to = format!("{}/v3/auth/tokens", other.base);
    let server = FakeServer::start(
        None,
        Arc::new(move |req: &Recorded, _base: &str| {
            if req.path == "/v3/auth/tokens" {
                redirect(307, &to)
            } else {
                Reply::html(404, "The resource could not be found.")
            }
        }),
    )
    .await;
    let result = Keystone::new(config(&server.base)).unwrap().token().await;
    let bodies: Vec<String> = other
        .requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(bodies.is_empty(), "the other address got {bodies:?}");
    let err = result.expect_err("a redirect to another address is an error");
    assert_eq!(err.status(), Some(307), "{err}");
}

#[tokio::test]
async fn a_redirect_within_the_same_server_is_followed() {
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], |req| match req.path.as_str() {
            "/v2/info/stores/detail" => redirect(302, "/v2/info/stores/moved"),
            "/v2/info/stores/moved" => Reply::json(200, json!({"stores": []})),
            _ => Reply::html(404, "The resource could not be found."),
        }),
    )
    .await;
    let keystone = Arc::new(Keystone::new(config(&server.base)).unwrap());
    let glance = Glance::connect(keystone).await.unwrap();
    let stores = glance.stores_detail().await.expect("same-origin redirect");
    assert!(stores.is_empty());
    let moved = server.requests();
    let moved = moved
        .iter()
        .find(|r| r.path == "/v2/info/stores/moved")
        .unwrap();
    assert!(moved.header("X-Auth-Token").is_some());
}

#[tokio::test]
async fn a_success_body_past_the_cap_is_refused() {
    // Valid JSON, 40 MiB: read whole, it would be accepted.
    let server = FakeServer::start(
        None,
        cloud_handler(3600, &[], |req| {
            if req.path == "/v2/info/stores/detail" {
                Reply::json(200, json!({"stores": [], "pad": "x".repeat(40 << 20)}))
            } else {
                Reply::html(404, "The resource could not be found.")
            }
        }),
    )
    .await;
    let keystone = Arc::new(Keystone::new(config(&server.base)).unwrap());
    let glance = Glance::connect(keystone).await.unwrap();
    let err = glance.stores_detail().await.expect_err("a 40 MiB body");
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");
    assert!(err.to_string().contains("larger than"), "{err}");
}

/// What a stopped Glance does with a connection.
#[derive(Clone, Copy)]
enum Silence {
    /// Reads the request's head, then nothing more.
    AfterHead,
    /// Reads the whole request (its `Content-Length`), then never answers.
    AfterBody,
    /// Answers a download with its head and 10 of 1000 bytes, then nothing.
    MidDownload,
}

/// A Glance that stops as `how` says on every connection and holds it
/// open (a glance-api stopped with SIGSTOP); its base URL.
async fn silent_glance(how: Silence) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let head_end = loop {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    if fill(&mut stream, &mut buf).await.is_none() {
                        return;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                match how {
                    Silence::AfterHead => {}
                    Silence::AfterBody => {
                        let len: Option<usize> = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok());
                        // A chunked body ends with an empty chunk.
                        while len.map_or(!buf.ends_with(b"\r\n0\r\n\r\n"), |n| {
                            buf.len() < head_end + n
                        }) {
                            fill(&mut stream, &mut buf).await.unwrap();
                        }
                    }
                    Silence::MidDownload => {
                        let out = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                                   Content-Length: 1000\r\n\r\n0123456789";
                        stream.write_all(out.as_bytes()).await.unwrap();
                    }
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(stream);
            });
        }
    });
    base
}

/// A client whose Keystone is `keystone` and whose Glance is `glance`,
/// with a read timeout of `read_timeout`.
async fn with_glance_at(keystone: &FakeServer, glance: &str, read_timeout: Duration) -> Glance {
    let config = CloudConfig {
        image_endpoint_override: Some(glance.to_string()),
        read_timeout: Some(read_timeout),
        ..config(&keystone.base)
    };
    glance_client::connect(config).await.unwrap()
}

/// 1 MiB chunks of `total` bytes, each ready at once.
fn data(total: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::iter((0..total >> 20).map(|i| Ok(Bytes::from(vec![i as u8; 1 << 20]))))
}

#[tokio::test]
async fn an_upload_glance_stops_taking_fails_within_its_read_timeout() {
    let keystone = FakeServer::start(None, cloud_handler(3600, &[], |_| Reply::empty(404))).await;
    let limit = Duration::from_secs(1);
    let glance = with_glance_at(&keystone, &silent_glance(Silence::AfterHead).await, limit).await;
    // Far more than the loopback's socket buffers hold.
    let size = 256 << 20;
    let started = std::time::Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        glance.upload_stream("i1", data(size), None, Some(size as u64)),
    )
    .await
    .expect("the upload hung: no read timeout on its body");
    let took = started.elapsed();
    let err = r.unwrap_err();
    assert!(
        matches!(&err, Error::Stalled { what, .. } if what.contains("took none of the data")),
        "{err}"
    );
    assert!(err.to_string().contains("/v2/images/i1/file"), "{err}");
    assert!(
        err.to_string().contains("for 1 s (the read timeout)"),
        "{err}"
    );
    assert!(took >= limit && took < Duration::from_secs(30), "{took:?}");
}

#[tokio::test]
async fn an_upload_glance_does_not_answer_fails_within_its_read_timeout() {
    let keystone = FakeServer::start(None, cloud_handler(3600, &[], |_| Reply::empty(404))).await;
    let limit = Duration::from_secs(1);
    let glance = with_glance_at(&keystone, &silent_glance(Silence::AfterBody).await, limit).await;
    for size in [Some(2u64 << 20), None] {
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            glance.upload_stream("i1", data(2 << 20), None, size),
        )
        .await
        .expect("the upload hung: no read timeout on its answer");
        let err = r.unwrap_err();
        assert!(
            matches!(&err, Error::Stalled { what, .. } if what.contains("no answer")),
            "{size:?}: {err}"
        );
    }
}

#[tokio::test]
async fn a_download_glance_stops_sending_fails_within_its_read_timeout() {
    use futures_util::StreamExt;
    let keystone = FakeServer::start(None, cloud_handler(3600, &[], |_| Reply::empty(404))).await;
    let limit = Duration::from_secs(1);
    let glance = with_glance_at(&keystone, &silent_glance(Silence::MidDownload).await, limit).await;
    let mut got = Vec::new();
    let mut last = None;
    let mut body = tokio::time::timeout(Duration::from_secs(60), glance.download("i1"))
        .await
        .expect("the download's answer hung")
        .unwrap();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(60), body.next())
        .await
        .expect("the download hung: no read timeout on its body")
    {
        match item {
            Ok(b) => got.extend_from_slice(&b),
            Err(e) => last = Some(e),
        }
    }
    assert_eq!(got, b"0123456789");
    let err = last.expect("the download ended without an error");
    assert!(matches!(err, Error::Stalled { .. }), "{err}");

    // A Glance that never answers at all.
    let glance = with_glance_at(&keystone, &silent_glance(Silence::AfterHead).await, limit).await;
    let err = tokio::time::timeout(Duration::from_secs(60), glance.download("i1"))
        .await
        .expect("the download's answer hung")
        .err()
        .expect("a download from a silent Glance succeeded");
    assert!(
        matches!(&err, Error::Stalled { what, .. } if what.contains("did not answer")),
        "{err}"
    );
}

/// A Keystone and Glance on one server whose catalog and answers name a
/// second server (`trap`) everywhere a client could take a URL from:
/// other interfaces, regions and services of the catalog, the links of
/// image records, store properties, and redirects of every kind. Only the
/// catalog's public image endpoint in the configured region, and Keystone
/// itself, may see a token.
fn trap_cloud(trap: String) -> Handler {
    Arc::new(move |req: &Recorded, base: &str| {
        let t = trap.as_str();
        let image = |id: &str, status: &str| {
            json!({"id": id, "status": status, "name": "n", "size": 4, "protected": false,
                   "tags": [], "self": format!("{t}/v2/images/{id}"),
                   "file": format!("{t}/v2/images/{id}/file"),
                   "schema": format!("{t}/v2/schemas/image"),
                   "direct_url": format!("{t}/v2/images/{id}/file")})
        };
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/v3/auth/tokens") => {
                let endpoint = |interface: &str, region: &str, url: String| json!({"interface": interface, "region_id": region, "region": region, "url": url});
                let mut r = Reply::json(
                    201,
                    json!({"token": {
                        "expires_at": "2099-01-01T00:00:00.000000Z",
                        "project": {"id": "pid", "name": "service"},
                        "user": {"id": "uid"},
                        "roles": [{"name": "member"}],
                        "catalog": [
                            {"type": "compute", "endpoints": [endpoint("public", "RegionOne", format!("{t}/compute"))]},
                            {"type": "identity", "endpoints": [endpoint("public", "RegionOne", format!("{t}/v3"))]},
                            {"type": "image", "endpoints": [
                                endpoint("internal", "RegionOne", format!("{t}/internal")),
                                endpoint("admin", "RegionOne", format!("{t}/admin")),
                                endpoint("public", "RegionTwo", format!("{t}/two")),
                                endpoint("public", "RegionOne", format!("{base}/v2/")),
                            ]},
                        ],
                    }}),
                );
                r.headers.push(("X-Subject-Token".into(), "tok-1".into()));
                r
            }
            (_, p) if req.header("X-Auth-Token") != Some("tok-1") => {
                Reply::html(401, &format!("no token for {p}"))
            }
            ("GET", "/v2/info/stores/detail") => Reply::json(
                200,
                json!({"stores": [{"id": "ceph", "default": true, "type": "rbd",
                    "properties": {"pool": "images", "fsid": "f", "chunk_size": 8,
                                   "self": format!("{t}/v2/info/stores/ceph")}}],
                       "next": format!("{t}/v2/info/stores/detail?page=2")}),
            ),
            ("POST", "/v2/images") => {
                let mut r = Reply::json(201, image("i1", "queued"));
                r.headers
                    .push(("Location".into(), format!("{t}/v2/images/i1")));
                r
            }
            ("GET", "/v2/images/i1") => Reply::json(200, image("i1", "active")),
            ("GET", "/v2/images/moved") => redirect(302, &format!("{t}/v2/images/moved")),
            ("PUT", "/v2/images/i1/file") => redirect(307, &format!("{t}/v2/images/i1/file")),
            ("GET", "/v2/images/i1/file") => redirect(303, &format!("{t}/v2/images/i1/file")),
            ("POST", "/v2/images/i1/locations") => {
                redirect(308, &format!("{t}/v2/images/i1/locations"))
            }
            ("PATCH", "/v2/images/i1") => redirect(301, &format!("{t}/v2/images/i1")),
            ("DELETE", "/v2/images/i1") => redirect(307, &format!("{t}/v2/images/i1")),
            _ => Reply::html(404, "The resource could not be found."),
        }
    })
}

#[tokio::test]
async fn only_the_catalog_hosts_see_a_token() {
    let trap = redirect_target().await;
    let server = FakeServer::start(None, trap_cloud(trap.base.clone())).await;
    let keystone = Arc::new(Keystone::new(config(&server.base)).unwrap());
    let glance = Glance::connect(keystone).await.unwrap();
    assert!(
        glance.endpoint().starts_with(&server.base),
        "{}",
        glance.endpoint()
    );

    // What succeeds here succeeds on the catalog's endpoint alone.
    let stores = glance.stores_detail().await.expect("stores detail");
    assert_eq!(stores.len(), 1);
    let made = glance
        .create_image(&glance_client::NewImage::raw("n"))
        .await
        .expect("create");
    assert_eq!(made.id, "i1");
    glance.show_image("i1").await.expect("show");
    glance
        .wait_for_status("i1", &["active"], Duration::from_secs(5))
        .await
        .expect("wait");
    // Every redirect away from it is an error, whatever its kind.
    assert!(glance.show_image("moved").await.is_err());
    let data =
        futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"data"))]);
    assert!(glance.upload_stream("i1", data, None, None).await.is_err());
    assert!(glance.download("i1").await.is_err());
    let location = NewLocation::new("rbd://f/images/i1/snap", Some("ceph"));
    assert!(glance.add_location("i1", &location).await.is_err());
    assert!(glance.delete_image("i1").await.is_err());

    let seen: Vec<String> = trap
        .requests()
        .iter()
        .map(|r| {
            format!(
                "{} {} token={:?}",
                r.method,
                r.path,
                r.header("X-Auth-Token")
            )
        })
        .collect();
    assert!(
        seen.is_empty(),
        "a host outside the catalog's image endpoint got: {seen:?}"
    );
    // And the one that did see the token saw all of it.
    assert!(
        server
            .requests()
            .iter()
            .filter(|r| r.header("X-Auth-Token").is_some())
            .count()
            >= 8
    );
}
