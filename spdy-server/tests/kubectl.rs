//! End-to-end tests with the real kubectl (1.32 on the project's machines)
//! against the `kube_streaming` example: a fake API server on 127.0.0.1,
//! reached through a kubeconfig in a temporary directory.
//!
//! Without kubectl (not on PATH and no `KUBECTL` variable) each test says
//! that it skipped, and why, and passes.

#[path = "../examples/kube_streaming.rs"]
#[allow(dead_code, missing_docs)]
mod kube_streaming;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use spdy_server::kube::StreamingConfig;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

/// The kubectl to run: `$KUBECTL`, or `kubectl` on PATH.
fn kubectl() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
}

macro_rules! kubectl_or_skip {
    ($test:expr) => {
        match kubectl() {
            Some(path) => path,
            None => {
                eprintln!(
                    "SKIPPED {}: kubectl not found (not on PATH, KUBECTL unset); \
                     install kubectl 1.32+ to run the end-to-end tests",
                    $test
                );
                return;
            }
        }
    };
}

/// The fake API server and a kubeconfig pointing at it.
struct Cluster {
    kubectl: PathBuf,
    dir: PathBuf,
    server: JoinHandle<()>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    async fn start(kubectl: PathBuf, config: StreamingConfig) -> Cluster {
        static N: AtomicUsize = AtomicUsize::new(0);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(kube_streaming::serve_with(listener, config));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "kubectl-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\n\
             clusters: [{{name: fake, cluster: {{server: \"http://{addr}\"}}}}]\n\
             users: [{{name: nobody, user: {{}}}}]\n\
             contexts: [{{name: fake, context: {{cluster: fake, user: nobody, namespace: default}}}}]\n\
             current-context: fake\n"
        );
        std::fs::write(dir.join("kubeconfig"), kubeconfig).expect("kubeconfig");
        Cluster {
            kubectl,
            dir,
            server,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.kubectl);
        command
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.join("cache"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_relays_stdout_stderr_and_the_exit_code() {
    let kubectl = kubectl_or_skip!("exec_relays_stdout_stderr_and_the_exit_code");
    let cluster = Cluster::start(kubectl, StreamingConfig::default()).await;
    let output = timeout(
        LIMIT,
        cluster
            .command(&[
                "exec",
                "demo",
                "--",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ])
            .output(),
    )
    .await
    .expect("kubectl exec timed out")
    .expect("kubectl runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.stdout, b"out\n", "stderr: {stderr}");
    assert!(stderr.starts_with("err\n"), "{stderr}");
    assert!(
        stderr.contains("command terminated with exit code 3"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(3), "{stderr}");

    let output = timeout(
        LIMIT,
        cluster.command(&["exec", "demo", "--", "true"]).output(),
    )
    .await
    .expect("kubectl exec timed out")
    .expect("kubectl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// 10 MB that do not compress away: a xorshift stream.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_with_stdin_relays_10_megabytes_byte_exact() {
    let kubectl = kubectl_or_skip!("exec_with_stdin_relays_10_megabytes_byte_exact");
    let cluster = Cluster::start(kubectl, StreamingConfig::default()).await;
    let input = noise(10 * 1024 * 1024);
    let mut child = cluster
        .command(&["exec", "-i", "demo", "--", "cat"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = tokio::spawn({
        let input = input.clone();
        async move {
            stdin.write_all(&input).await.expect("write stdin");
            drop(stdin); // EOF: kubectl closes the stdin stream
        }
    });
    let output = timeout(LIMIT, child.wait_with_output())
        .await
        .expect("kubectl exec -i timed out")
        .expect("kubectl runs");
    writer.await.expect("writer");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout.len(), input.len());
    assert_eq!(Sha256::digest(&output.stdout), Sha256::digest(&input));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_with_a_terminal_gets_the_size_and_exit_code() {
    let kubectl = kubectl_or_skip!("exec_with_a_terminal_gets_the_size_and_exit_code");
    if !Path::new("/usr/bin/script").is_file() {
        eprintln!(
            "SKIPPED exec_with_a_terminal_gets_the_size_and_exit_code: `script` (util-linux) is needed for a terminal"
        );
        return;
    }
    let cluster = Cluster::start(kubectl.clone(), StreamingConfig::default()).await;
    // `script` gives kubectl a terminal of 45 rows and 123 columns.
    let inner = format!(
        "stty cols 123 rows 45; KUBECONFIG={} {} --cache-dir {} exec -it demo -- sh -c 'stty size; exit 7'",
        cluster.dir.join("kubeconfig").display(),
        kubectl.display(),
        cluster.dir.join("cache").display()
    );
    let output = timeout(
        LIMIT,
        Command::new("/usr/bin/script")
            .args(["-qec", &inner, "/dev/null"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl exec -t timed out")
    .expect("script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("45 123"), "{stdout}");
    assert!(
        stdout.contains("command terminated with exit code 7"),
        "{stdout}"
    );
    assert_eq!(output.status.code(), Some(7), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_relays_stdin_and_the_exit_code() {
    let kubectl = kubectl_or_skip!("attach_relays_stdin_and_the_exit_code");
    let cluster = Cluster::start(kubectl, StreamingConfig::default()).await;
    let mut child = cluster
        .command(&["attach", "-i", "demo"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"echo attached; echo to-stderr >&2; exit 4\n")
        .await
        .expect("stdin");
    drop(stdin);
    let output = timeout(LIMIT, child.wait_with_output())
        .await
        .expect("kubectl attach timed out")
        .expect("kubectl runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.stdout, b"attached\n", "{stderr}");
    assert!(stderr.contains("to-stderr"), "{stderr}");
    assert_eq!(output.status.code(), Some(4), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cp_copies_a_file_in_and_out() {
    let kubectl = kubectl_or_skip!("cp_copies_a_file_in_and_out");
    let cluster = Cluster::start(kubectl, StreamingConfig::default()).await;
    // The fake pod is this machine: `kubectl cp` runs tar through exec.
    let original = cluster.dir.join("original.bin");
    let inside = cluster.dir.join("inside");
    std::fs::create_dir_all(&inside).expect("dir");
    let content = noise(1_500_000);
    std::fs::write(&original, &content).expect("write");
    let copied = inside.join("copied.bin");
    let output = timeout(
        LIMIT,
        cluster
            .command(&[
                "cp",
                &original.display().to_string(),
                &format!("demo:{}", copied.display()),
            ])
            .output(),
    )
    .await
    .expect("kubectl cp timed out")
    .expect("kubectl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(&copied).expect("copied in"), content);

    let back = cluster.dir.join("back.bin");
    let output = timeout(
        LIMIT,
        cluster
            .command(&[
                "cp",
                &format!("demo:{}", copied.display()),
                &back.display().to_string(),
            ])
            .output(),
    )
    .await
    .expect("kubectl cp timed out")
    .expect("kubectl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(&back).expect("copied out"), content);
}

/// A small HTTP/1.1 server on 127.0.0.1: `GET /bytes/N` answers N bytes of
/// noise, `POST /echo` answers the body; one request per connection.
async fn start_http_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut reader = BufReader::new(tcp);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.is_err() {
                    return;
                }
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
                let body = if let Some(n) = path.strip_prefix("/bytes/") {
                    noise(n.parse().unwrap_or(0))
                } else {
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    body
                };
                let mut tcp = reader.into_inner();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tcp.write_all(head.as_bytes()).await;
                let _ = tcp.write_all(&body).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    (addr, task)
}

/// One request through the forwarded port; returns the response body.
async fn http_request(port: u16, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: pod\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("request");
    tcp.write_all(body).await.expect("body");
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.expect("response");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    response[split + 4..].to_vec()
}

/// Runs `kubectl port-forward pod/demo LOCAL:REMOTE` (LOCAL picked by
/// kubectl), sends concurrent requests through it, then stops it. Returns
/// kubectl's log.
async fn port_forward_round(cluster: &Cluster) -> String {
    let (http, http_task) = start_http_server().await;
    let mut child = cluster
        .command(&[
            "port-forward",
            "-v=4",
            "pod/demo",
            &format!("0:{}", http.port()),
        ])
        .spawn()
        .expect("kubectl runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let local_port: u16 = timeout(Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.expect("stdout") {
            // "Forwarding from 127.0.0.1:PORT -> REMOTE"
            if let Some(rest) = line.strip_prefix("Forwarding from 127.0.0.1:") {
                return rest.split(' ').next().and_then(|p| p.parse().ok());
            }
        }
        None
    })
    .await
    .expect("kubectl port-forward did not start in time")
    .expect("kubectl port-forward printed its local port");

    // Several connections at once, each way: downloads and uploads.
    let mut requests = Vec::new();
    for i in 0..8usize {
        requests.push(tokio::spawn(async move {
            let size = 100_000 + i * 150_000;
            if i % 2 == 0 {
                let body = http_request(local_port, "GET", &format!("/bytes/{size}"), b"").await;
                assert_eq!(
                    Sha256::digest(&body),
                    Sha256::digest(noise(size)),
                    "download {i}"
                );
            } else {
                let upload: Vec<u8> = noise(size).into_iter().rev().collect();
                let body = http_request(local_port, "POST", "/echo", &upload).await;
                assert_eq!(body.len(), upload.len(), "upload {i}");
                assert_eq!(Sha256::digest(&body), Sha256::digest(&upload), "upload {i}");
            }
        }));
    }
    timeout(LIMIT, async {
        for request in requests {
            request.await.expect("request through kubectl port-forward");
        }
    })
    .await
    .expect("requests through kubectl port-forward timed out");

    child.start_kill().expect("stop kubectl");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = timeout(Duration::from_secs(10), pipe.read_to_string(&mut stderr)).await;
    }
    let _ = timeout(Duration::from_secs(10), child.wait()).await;
    http_task.abort();
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_over_spdy_after_the_websocket_attempt_is_refused() {
    let kubectl = kubectl_or_skip!("port_forward_over_spdy_after_the_websocket_attempt_is_refused");
    let config = StreamingConfig {
        port_forward_over_websocket: false,
        ..StreamingConfig::default()
    };
    let cluster = Cluster::start(kubectl, config).await;
    let log = port_forward_round(&cluster).await;
    assert!(
        !log.contains("negotiated protocol"),
        "kubectl should have fallen back to SPDY/3.1:\n{log}"
    );
    assert!(!log.contains("an error occurred forwarding"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_over_the_websocket_tunnel() {
    let kubectl = kubectl_or_skip!("port_forward_over_the_websocket_tunnel");
    let cluster = Cluster::start(kubectl, StreamingConfig::default()).await;
    let log = port_forward_round(&cluster).await;
    // kubectl logs the tunnel's subprotocol at -v=4.
    assert!(
        log.contains("negotiated protocol: portforward.k8s.io"),
        "kubectl should have used the SPDY/3.1+portforward.k8s.io WebSocket tunnel:\n{log}"
    );
    assert!(!log.contains("an error occurred forwarding"), "{log}");
}
