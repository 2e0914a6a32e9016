//! Static files for media clients, over SPDY with our client and over
//! HTTP/1.1 with hyper: ranges, conditionals, HEAD, types, escapes refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use common::{TempDir, payload, start, within};
use http::{Request, Response, StatusCode};
use spdy_client::{Body, Client, ClientConfig, RecvBody};
use spdy_server::ServerConfig;
use spdy_server::static_files::StaticFiles;

const MOVIE_LEN: usize = 1_048_576;

/// root/movie.mp4, root/sub/a.txt, root/dir/ (no index), root/site/index.html,
/// root/inlink -> movie.mp4, root/outlink -> ../secret.txt (outside).
fn tree() -> (TempDir, std::path::PathBuf) {
    let top = TempDir::new("static");
    let root = top.0.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::create_dir_all(root.join("site")).unwrap();
    std::fs::write(root.join("movie.mp4"), payload(1, MOVIE_LEN)).unwrap();
    std::fs::write(root.join("sub/a.txt"), "alpha\n").unwrap();
    std::fs::write(root.join("dir/x.bin"), "x").unwrap();
    std::fs::write(root.join("site/index.html"), "<p>home</p>").unwrap();
    std::fs::write(top.0.join("secret.txt"), "secret").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root.join("movie.mp4"), root.join("inlink")).unwrap();
        std::os::unix::fs::symlink(top.0.join("secret.txt"), root.join("outlink")).unwrap();
        // A directory whose index is a link out of the root.
        std::fs::create_dir_all(root.join("trap")).unwrap();
        std::os::unix::fs::symlink(top.0.join("secret.txt"), root.join("trap/index.html")).unwrap();
    }
    (top, root)
}

async fn fetch(
    client: &Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (Response<()>, Bytes) {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://media.local{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .send(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, mut body): (_, RecvBody) = response.into_parts();
    let bytes = body.bytes(4 * MOVIE_LEN).await.unwrap();
    (Response::from_parts(parts, ()), bytes)
}

async fn serve(files: StaticFiles) -> (Client, SocketAddr, impl Drop) {
    let (server, addr, task) = start(files, ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    struct Stop(tokio::task::JoinHandle<std::io::Result<()>>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    drop(server);
    (client, addr, Stop(task))
}

#[tokio::test]
async fn whole_files_head_and_types() {
    let (_top, root) = tree();
    let (client, _addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    within(async {
        let (head, body) = fetch(&client, "GET", "/movie.mp4", &[]).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-length"], MOVIE_LEN.to_string());
        assert_eq!(head.headers()["content-type"], "video/mp4");
        assert_eq!(head.headers()["accept-ranges"], "bytes");
        assert!(head.headers().contains_key("etag"));
        assert!(head.headers().contains_key("last-modified"));
        assert_eq!(body, payload(1, MOVIE_LEN));

        let (head_only, body) = fetch(&client, "HEAD", "/movie.mp4", &[]).await;
        assert_eq!(head_only.status(), StatusCode::OK);
        assert_eq!(head_only.headers()["content-length"], MOVIE_LEN.to_string());
        assert_eq!(head_only.headers()["etag"], head.headers()["etag"]);
        assert!(body.is_empty());

        let (head, body) = fetch(&client, "GET", "/sub/a.txt", &[]).await;
        assert_eq!(head.headers()["content-type"], "text/plain");
        assert_eq!(body, "alpha\n");

        // A directory with an index; without the slash, a redirect first.
        let (head, _) = fetch(&client, "GET", "/site", &[]).await;
        assert_eq!(head.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(head.headers()["location"], "/site/");
        let (head, body) = fetch(&client, "GET", "/site/", &[]).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(body, "<p>home</p>");

        let (head, _) = fetch(&client, "POST", "/movie.mp4", &[]).await;
        assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(head.headers()["allow"], "GET, HEAD");
    })
    .await;
}

#[tokio::test]
async fn single_ranges_206_and_416() {
    let (_top, root) = tree();
    let (client, _addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    let movie = payload(1, MOVIE_LEN);
    within(async {
        let (head, body) = fetch(&client, "GET", "/movie.mp4", &[("range", "bytes=100-199")]).await;
        assert_eq!(head.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            head.headers()["content-range"],
            format!("bytes 100-199/{MOVIE_LEN}")
        );
        assert_eq!(head.headers()["content-length"], "100");
        assert_eq!(body, movie.slice(100..200));

        let (head, body) = fetch(&client, "GET", "/movie.mp4", &[("range", "bytes=-10")]).await;
        assert_eq!(head.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(body, movie.slice(MOVIE_LEN - 10..));

        let (head, body) =
            fetch(&client, "GET", "/movie.mp4", &[("range", "bytes=1048000-")]).await;
        assert_eq!(
            head.headers()["content-range"],
            format!("bytes 1048000-{}/{MOVIE_LEN}", MOVIE_LEN - 1)
        );
        assert_eq!(body, movie.slice(1_048_000..));

        let (head, body) =
            fetch(&client, "GET", "/movie.mp4", &[("range", "bytes=2000000-")]).await;
        assert_eq!(head.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            head.headers()["content-range"],
            format!("bytes */{MOVIE_LEN}")
        );
        assert!(body.is_empty());

        // Several ranges: the whole file (no multipart).
        let (head, body) = fetch(&client, "GET", "/movie.mp4", &[("range", "bytes=0-1,5-6")]).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(body.len(), MOVIE_LEN);

        // If-Range naming another version: the whole file.
        let (head, _) = fetch(
            &client,
            "GET",
            "/movie.mp4",
            &[("range", "bytes=0-9"), ("if-range", "\"stale\"")],
        )
        .await;
        assert_eq!(head.status(), StatusCode::OK);

        // A media client's burst of short range requests, all at once.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64usize {
            let client = client.clone();
            let movie = movie.clone();
            tasks.spawn(async move {
                let start = i * 16_000;
                let range = format!("bytes={start}-{}", start + 9_999);
                let (head, body) = fetch(&client, "GET", "/movie.mp4", &[("range", &range)]).await;
                assert_eq!(head.status(), StatusCode::PARTIAL_CONTENT);
                assert_eq!(body, movie.slice(start..start + 10_000));
            });
        }
        while let Some(result) = tasks.join_next().await {
            result.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn conditional_requests_answer_304() {
    let (_top, root) = tree();
    let (client, _addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    within(async {
        let (head, _) = fetch(&client, "HEAD", "/movie.mp4", &[]).await;
        let etag = head.headers()["etag"].to_str().unwrap().to_owned();
        let date = head.headers()["last-modified"].to_str().unwrap().to_owned();

        let (head, body) = fetch(&client, "GET", "/movie.mp4", &[("if-none-match", &etag)]).await;
        assert_eq!(head.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(head.headers()["etag"], etag.as_str());
        assert!(body.is_empty());

        let (head, _) = fetch(
            &client,
            "GET",
            "/movie.mp4",
            &[("if-modified-since", &date)],
        )
        .await;
        assert_eq!(head.status(), StatusCode::NOT_MODIFIED);

        let (head, body) = fetch(
            &client,
            "GET",
            "/movie.mp4",
            &[("if-none-match", "\"other\"")],
        )
        .await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(body.len(), MOVIE_LEN);

        let old = "Mon, 01 Jan 2001 00:00:00 GMT";
        let (head, _) = fetch(&client, "GET", "/movie.mp4", &[("if-modified-since", old)]).await;
        assert_eq!(head.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_directory_redirect_never_names_another_host() {
    // "//site" maps to the directory site/, but a Location of "//site/" is
    // a network-path reference: the browser would go to http://site/.
    let (_top, root) = tree();
    let (client, _addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    within(async {
        for (path, expected) in [
            ("//site", "/site/"),
            ("///site?x=1", "/site/?x=1"),
            ("/./site", "/./site/"),
        ] {
            let (head, _) = fetch(&client, "GET", path, &[]).await;
            assert_eq!(head.status(), StatusCode::MOVED_PERMANENTLY, "{path}");
            assert_eq!(head.headers()["location"], expected, "{path}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_304_has_no_content_length() {
    // RFC 9110 §8.6: a 304 may carry Content-Length only when it is the
    // length a 200 would have; 0 is not, and caches that update stored
    // headers from the 304 would take the resource for empty.
    let (_top, root) = tree();
    let (client, _addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    within(async {
        let (head, _) = fetch(&client, "HEAD", "/movie.mp4", &[]).await;
        let etag = head.headers()["etag"].to_str().unwrap().to_owned();
        let (head, _) = fetch(&client, "GET", "/movie.mp4", &[("if-none-match", &etag)]).await;
        assert_eq!(head.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(head.headers().get("content-length"), None);
    })
    .await;
}

#[tokio::test]
async fn no_escape_from_the_root_and_no_listing_by_default() {
    let (_top, root) = tree();
    let (client, _addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    within(async {
        for path in [
            "/../secret.txt",
            "/sub/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/sub%2F..%2F..%2Fsecret.txt",
            "/sub%2fa.txt",
            "/sub%5C..%5C..%5Csecret.txt",
            "/a%00b",
        ] {
            let (head, body) = fetch(&client, "GET", path, &[]).await;
            assert_eq!(head.status(), StatusCode::BAD_REQUEST, "{path}");
            assert!(!body.starts_with(b"secret"), "{path}");
        }
        #[cfg(unix)]
        {
            let (head, _) = fetch(&client, "GET", "/outlink", &[]).await;
            assert_eq!(head.status(), StatusCode::NOT_FOUND);
            let (head, body) = fetch(&client, "GET", "/trap/", &[]).await;
            assert_eq!(head.status(), StatusCode::NOT_FOUND, "an index linking out");
            assert!(!body.starts_with(b"secret"));
            let (head, body) = fetch(&client, "GET", "/inlink", &[]).await;
            assert_eq!(head.status(), StatusCode::OK);
            assert_eq!(body.len(), MOVIE_LEN);
        }
        let (head, _) = fetch(&client, "GET", "/dir/", &[]).await;
        assert_eq!(head.status(), StatusCode::NOT_FOUND);
        let (head, _) = fetch(&client, "GET", "/nothing-here", &[]).await;
        assert_eq!(head.status(), StatusCode::NOT_FOUND);
    })
    .await;

    let listing = StaticFiles::new(&root).unwrap().directory_listing(true);
    let (client, _addr, _stop) = serve(listing).await;
    within(async {
        let (head, body) = fetch(&client, "GET", "/dir/", &[]).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-type"], "text/html; charset=utf-8");
        assert!(
            std::str::from_utf8(&body)
                .unwrap()
                .contains("<a href=\"./x.bin\">x.bin</a>")
        );
        // A file name that reads as a URL with a scheme stays a relative link.
        std::fs::write(root.join("dir/javascript:alert(1)"), "x").unwrap();
        let (_, body) = fetch(&client, "GET", "/dir/", &[]).await;
        let html = std::str::from_utf8(&body).unwrap();
        assert!(
            html.contains("<a href=\"./javascript:alert(1)\">javascript:alert(1)</a>"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_files_over_http1() {
    use http_body_util::BodyExt;
    let (_top, root) = tree();
    let (_client, addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    within(async {
        let mut sender = common::http1(addr).await;
        let request = Request::get("/movie.mp4")
            .header("host", "media.local")
            .header("range", "bytes=10-19")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(response.headers()["content-length"], "10");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, payload(1, MOVIE_LEN).slice(10..20));
        let request = Request::head("/movie.mp4")
            .header("host", "media.local")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.headers()["content-length"], MOVIE_LEN.to_string());
    })
    .await;
}

#[tokio::test]
async fn a_file_that_shrinks_while_served_ends_in_an_error_not_a_short_body() {
    use http_body_util::BodyExt;
    const LEN: usize = 8 * 1024 * 1024;
    let top = TempDir::new("shrink");
    let root = top.0.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let file = root.join("shrinking.bin");
    std::fs::write(&file, payload(7, LEN)).unwrap();
    let (client, addr, _stop) = serve(StaticFiles::new(&root).unwrap()).await;
    within(async {
        // SPDY: the response is under way (and held back by flow control,
        // since nothing is read) when the file shrinks.
        let request = Request::get("http://media.local/shrinking.bin")
            .body(Body::empty())
            .unwrap();
        let mut response = client.send(request).await.unwrap();
        assert_eq!(response.headers()["content-length"], LEN.to_string());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(100 * 1024)
            .unwrap();
        let outcome = response.body_mut().bytes(2 * LEN).await;
        assert!(
            outcome.is_err(),
            "a body of {:?} bytes",
            outcome.map(|b| b.len())
        );

        // HTTP/1.1 likewise.
        std::fs::write(&file, payload(7, LEN)).unwrap();
        let mut sender = common::http1(addr).await;
        let request = Request::get("/shrinking.bin")
            .header("host", "media.local")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.headers()["content-length"], LEN.to_string());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(100 * 1024)
            .unwrap();
        let outcome = response.into_body().collect().await;
        assert!(outcome.is_err());
    })
    .await;
}

#[tokio::test]
async fn hidden_files_are_not_served_unless_asked_for() {
    let (_top, root) = tree();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join(".git/config"), "[core]").unwrap();
    std::fs::write(root.join(".env"), "TOKEN=1").unwrap();
    std::fs::write(root.join("dir/.hidden"), "h").unwrap();
    std::fs::create_dir_all(root.join(".well-known")).unwrap();
    std::fs::write(root.join(".well-known/security.txt"), "contact").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join(".env"), root.join("envlink")).unwrap();
    let files = StaticFiles::new(&root).unwrap().directory_listing(true);
    let (client, _addr, _stop) = serve(files).await;
    within(async {
        for path in ["/.env", "/.git/config", "/dir/.hidden", "/%2eenv"] {
            let (head, body) = fetch(&client, "GET", path, &[]).await;
            assert_eq!(head.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(body.is_empty() || !body.starts_with(b"TOKEN"), "{path}");
        }
        #[cfg(unix)]
        {
            let (head, _) = fetch(&client, "GET", "/envlink", &[]).await;
            assert_eq!(
                head.status(),
                StatusCode::NOT_FOUND,
                "a link to a hidden file"
            );
        }
        let (head, body) = fetch(&client, "GET", "/.well-known/security.txt", &[]).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(body, "contact");
        let (_, body) = fetch(&client, "GET", "/dir/", &[]).await;
        let html = std::str::from_utf8(&body).unwrap();
        assert!(
            html.contains("x.bin") && !html.contains(".hidden"),
            "{html}"
        );
    })
    .await;

    let files = StaticFiles::new(&root).unwrap().hidden_files(true);
    let (client, _addr, _stop) = serve(files).await;
    within(async {
        let (head, body) = fetch(&client, "GET", "/.env", &[]).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(body, "TOKEN=1");
    })
    .await;
}
