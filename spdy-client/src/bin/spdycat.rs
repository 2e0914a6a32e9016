//! spdycat: fetch URLs over SPDY/3.1.
//!
//! `http://` URLs speak SPDY/3.1 over plain TCP with prior knowledge;
//! `https://` URLs use TLS with ALPN `spdy/3.1`. Bodies go to stdout (or
//! `-o FILE`); `-n N -c C` repeats each request N times with C concurrent
//! streams on one session and prints requests per second; `-v` prints each
//! frame, both ways, in the frame notation. Any failure prints one line and
//! exits with status 1.

use std::collections::HashMap;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use indicatif::{ProgressBar, ProgressStyle};
use spdy_client::trace::{Direction, TraceIo, frame_yaml};
use spdy_client::{
    Body, Client, ClientConfig, RequestPriority, priority_for, tcp_connect, tls, tls_connect,
};
use tokio::io::AsyncWriteExt;

#[derive(Parser, Debug)]
#[command(name = "spdycat", version, about = "Fetch URLs over SPDY/3.1")]
struct Args {
    /// URLs to fetch (http:// = plain SPDY with prior knowledge, https:// = TLS with ALPN).
    #[arg(required = true)]
    urls: Vec<String>,
    /// Write bodies to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Send each request N times (bodies are then counted, not written,
    /// unless -o is given) and print requests/s.
    #[arg(short = 'n', long = "requests", value_name = "N", default_value_t = 1)]
    requests: usize,
    /// Concurrent streams on the session for -n.
    #[arg(
        short = 'c',
        long = "concurrency",
        value_name = "C",
        default_value_t = 1
    )]
    concurrency: usize,
    /// Send DATA as the request body (POST unless -X says otherwise).
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data_file"
    )]
    data: Option<String>,
    /// Send FILE as the request body (POST unless -X says otherwise).
    #[arg(long = "data-file", value_name = "FILE")]
    data_file: Option<PathBuf>,
    /// The request method.
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    method: Option<String>,
    /// An extra request header, 'name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Print every frame, both ways, to stderr in the frame notation.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Do not verify the server's TLS certificate.
    #[arg(short = 'k', long = "insecure")]
    insecure: bool,
    /// Seconds to wait for connecting and for each response's headers.
    #[arg(long = "timeout", value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Never show a progress bar.
    #[arg(long = "no-progress")]
    no_progress: bool,
}

/// A one-line failure.
type Failure = String;

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => fail(format!("cannot start the runtime: {error}")),
    };
    if let Err(failure) = runtime.block_on(run(args)) {
        fail(failure);
    }
}

fn fail(message: String) -> ! {
    eprintln!("spdycat: {message}");
    std::process::exit(1);
}

/// Where bodies go.
enum Sink {
    Stdout(tokio::io::Stdout),
    File(tokio::fs::File),
}

impl Sink {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(bytes).await,
            Sink::File(file) => file.write_all(bytes).await,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush().await,
            Sink::File(file) => file.flush().await,
        }
    }
}

struct Plan {
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
    data: Option<Bytes>,
    data_file: Option<PathBuf>,
}

async fn run(args: Args) -> Result<(), Failure> {
    let plan = plan(&args).await?;
    let mut sink = match &args.output {
        Some(path) => Sink::File(
            tokio::fs::File::create(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => Sink::Stdout(tokio::io::stdout()),
    };
    let mut clients: HashMap<String, Client> = HashMap::new();
    for url in &args.urls {
        let uri: Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or("?"),
            uri.authority().map_or("", |a| a.as_str())
        );
        let client = match clients.get(&key) {
            Some(client) => client.clone(),
            None => {
                let client = connect(&args, &uri)
                    .await
                    .map_err(|e| format!("{url}: {e}"))?;
                clients.insert(key, client.clone());
                client
            }
        };
        if args.requests <= 1 {
            fetch_one(&args, &plan, &client, &uri, &mut sink).await?;
        } else {
            repeat(
                &args,
                &plan,
                &client,
                &uri,
                args.output.is_some().then_some(&mut sink),
            )
            .await?;
        }
    }
    sink.flush()
        .await
        .map_err(|e| format!("writing the body: {e}"))?;
    for client in clients.values() {
        client.close(Duration::from_secs(5)).await;
    }
    Ok(())
}

async fn plan(args: &Args) -> Result<Plan, Failure> {
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("header {header:?} is not 'name: value'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("invalid header name in {header:?}"))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("invalid header value in {header:?}"))?;
        headers.push((name, value));
    }
    let has_body = args.data.is_some() || args.data_file.is_some();
    let method = match &args.method {
        Some(m) => Method::from_bytes(m.as_bytes()).map_err(|_| format!("invalid method {m:?}"))?,
        None if has_body => Method::POST,
        None => Method::GET,
    };
    let mut data = args.data.clone().map(Bytes::from);
    if args.requests > 1
        && let Some(path) = &args.data_file
    {
        // Repeated requests send the same bytes: read them once.
        data = Some(
            tokio::fs::read(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?
                .into(),
        );
    }
    Ok(Plan {
        method,
        headers,
        data,
        data_file: (args.requests <= 1)
            .then(|| args.data_file.clone())
            .flatten(),
    })
}

async fn connect(args: &Args, uri: &Uri) -> Result<Client, Failure> {
    let host = uri.host().ok_or("the URL has no host")?;
    let timeout = Duration::from_secs(args.timeout);
    let config = ClientConfig {
        response_timeout: timeout,
        connect_timeout: timeout,
        authority: uri.authority().map(|a| a.to_string()),
        ..ClientConfig::default()
    };
    let tls_on = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        other => {
            return Err(format!(
                "unsupported scheme {other:?} (use http:// or https://)"
            ));
        }
    };
    let port = uri.port_u16().unwrap_or(if tls_on { 443 } else { 80 });
    let host_for_connect = host.trim_start_matches('[').trim_end_matches(']');
    let socket = tcp_connect((host_for_connect, port), timeout)
        .await
        .map_err(|e| e.to_string())?;
    let trace = args.verbose.then(tracer);
    if !tls_on {
        return Ok(match trace {
            Some(trace) => Client::new(TraceIo::new(socket, trace), config),
            None => Client::new(socket, config),
        });
    }
    let tls_config = if args.insecure {
        tls::insecure_tls_config()
    } else {
        tls::default_tls_config()
    };
    let stream = tls_connect(socket, host_for_connect, tls_config, timeout)
        .await
        .map_err(|e| e.to_string())?;
    Ok(match trace {
        Some(trace) => Client::new_tls(TraceIo::new(stream, trace), config),
        None => Client::new_tls(stream, config),
    })
}

/// Prints each frame to stderr, under a comment saying which way it went.
fn tracer() -> spdy_client::trace::FrameCallback {
    Box::new(|direction, frame| {
        let arrow = match direction {
            Direction::Sent => "# sent",
            Direction::Received => "# received",
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{arrow}\n{}", frame_yaml(frame, 256));
    })
}

async fn request(plan: &Plan, uri: &Uri) -> Result<Request<Body>, Failure> {
    let body = match (&plan.data, &plan.data_file) {
        (Some(data), _) => Body::from(data.clone()),
        (None, Some(path)) => {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Body::from_stream(file_chunks(file))
        }
        (None, None) => Body::empty(),
    };
    // `-H 'Host: name'` names the :host, as with curl: the URL still says
    // where to connect.
    let mut target = uri.clone();
    if let Some((_, host)) = plan
        .headers
        .iter()
        .find(|(name, _)| *name == http::header::HOST)
    {
        let mut parts = uri.clone().into_parts();
        parts.authority = Some(
            host.to_str()
                .ok()
                .and_then(|h| h.parse().ok())
                .ok_or_else(|| format!("-H Host: {host:?} is not a host name"))?,
        );
        target = Uri::from_parts(parts).map_err(|e| format!("-H Host: {e}"))?;
    }
    // Several URLs share one session: a page goes ahead of a long download.
    let mut builder = Request::builder()
        .method(plan.method.clone())
        .uri(target)
        .extension(RequestPriority(priority_for(uri)));
    for (name, value) in plan
        .headers
        .iter()
        .filter(|(name, _)| *name != http::header::HOST)
    {
        builder = builder.header(name, value);
    }
    builder.body(body).map_err(|e| e.to_string())
}

/// A file as a stream of 64 KiB chunks, read ahead by at most four.
fn file_chunks(mut file: tokio::fs::File) -> ReceiverStream {
    use tokio::io::AsyncReadExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::spawn(async move {
        loop {
            let mut buf = bytes::BytesMut::with_capacity(64 * 1024);
            match file.read_buf(&mut buf).await {
                Ok(0) => return,
                Ok(_) => {
                    if tx.send(Ok(buf.freeze())).await.is_err() {
                        return;
                    }
                }
                Err(error) => {
                    let _ = tx.send(Err(error)).await;
                    return;
                }
            }
        }
    });
    ReceiverStream(rx)
}

/// A channel receiver as a stream.
struct ReceiverStream(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for ReceiverStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

async fn fetch_one(
    args: &Args,
    plan: &Plan,
    client: &Client,
    uri: &Uri,
    sink: &mut Sink,
) -> Result<(), Failure> {
    let request = request(plan, uri).await?;
    let mut response = client
        .send(request)
        .await
        .map_err(|e| format!("{} {uri}: {e}", plan.method))?;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        return Err(format!("{} {uri}: {status}", plan.method));
    }
    // The content-length of a HEAD or 304 answer is that of the body a
    // GET would get; none comes.
    let length = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|_| plan.method != Method::HEAD && status != http::StatusCode::NOT_MODIFIED);
    let bar = (!args.no_progress
        && std::io::stderr().is_terminal()
        && length.is_none_or(|l| l >= 1024 * 1024))
    .then(|| progress_bar(length));
    let body = response.body_mut();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| format!("{} {uri}: the body failed: {e}", plan.method))?;
        sink.write(&chunk)
            .await
            .map_err(|e| format!("writing the body: {e}"))?;
        if let Some(bar) = &bar {
            bar.inc(chunk.len() as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(expected) = length
        && body.received() != expected
    {
        return Err(format!(
            "{} {uri}: received {} bytes, content-length said {expected}",
            plan.method,
            body.received()
        ));
    }
    Ok(())
}

fn progress_bar(length: Option<u64>) -> ProgressBar {
    match length {
        Some(len) => {
            let bar = ProgressBar::new(len);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
            {
                bar.set_style(style);
            }
            bar
        }
    }
}

/// -n N -c C: N requests, C at a time, on the one session.
async fn repeat(
    args: &Args,
    plan: &Plan,
    client: &Client,
    uri: &Uri,
    sink: Option<&mut Sink>,
) -> Result<(), Failure> {
    let total = args.requests;
    let workers = args.concurrency.clamp(1, total);
    let next = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let first_failure: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let keep = sink.is_some();
    let (bodies_tx, mut bodies_rx) = tokio::sync::mpsc::channel::<Bytes>(workers);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let plan = Arc::new(Plan {
        method: plan.method.clone(),
        headers: plan.headers.clone(),
        data: plan.data.clone(),
        data_file: None,
    });
    for _ in 0..workers {
        let (client, uri, plan) = (client.clone(), uri.clone(), plan.clone());
        let (next, received, failed, first_failure) = (
            next.clone(),
            received.clone(),
            failed.clone(),
            first_failure.clone(),
        );
        let bodies = keep.then(|| bodies_tx.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let outcome = async {
                    let mut response = client
                        .send(request(&plan, &uri).await?)
                        .await
                        .map_err(|e| e.to_string())?;
                    let status = response.status();
                    let body = response.body_mut();
                    let mut kept = bytes::BytesMut::new();
                    while let Some(chunk) = body.data().await {
                        let chunk = chunk.map_err(|e| e.to_string())?;
                        received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        if bodies.is_some() {
                            kept.extend_from_slice(&chunk);
                        }
                    }
                    if let Some(tx) = &bodies {
                        let _ = tx.send(kept.freeze()).await;
                    }
                    if status.is_client_error() || status.is_server_error() {
                        return Err(status.to_string());
                    }
                    Ok::<(), String>(())
                }
                .await;
                if let Err(error) = outcome {
                    failed.fetch_add(1, Ordering::Relaxed);
                    first_failure
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(error);
                }
            }
        });
    }
    drop(bodies_tx);
    if let Some(sink) = sink {
        while let Some(body) = bodies_rx.recv().await {
            sink.write(&body)
                .await
                .map_err(|e| format!("writing the body: {e}"))?;
        }
    }
    while let Some(result) = tasks.join_next().await {
        result.map_err(|e| format!("a worker failed: {e}"))?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let failed = failed.load(Ordering::Relaxed);
    let bytes = received.load(Ordering::Relaxed);
    println!(
        "{total} requests, {workers} concurrent, {failed} failed: {elapsed:.3} s, {:.0} requests/s, {bytes} bytes received ({:.1} MB/s)",
        total as f64 / elapsed,
        bytes as f64 / elapsed / 1e6
    );
    if failed > 0 {
        let first = first_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        return Err(format!(
            "{failed} of {total} requests to {uri} failed (first: {first})"
        ));
    }
    Ok(())
}
