//! spdyd: serve a directory over SPDY/3.1.
//!
//! Plain SPDY/3.1 by default (HTTP/1.1 clients are recognised and served
//! too, unless `--spdy-only`); `--tls-cert FILE --tls-key FILE` or
//! `--tls-self-signed` for TLS with ALPN `spdy/3.1` and the `http/1.1`
//! fallback. Prints the bound address at start; logs through tracing
//! (`RUST_LOG`, default `info`: one access line per stream); Ctrl-C (or
//! SIGTERM) drains gracefully, a second Ctrl-C stops at once.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use spdy_server::static_files::StaticFiles;
use spdy_server::{Server, ServerConfig, tls};
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(name = "spdyd", version, about = "Serve a directory over SPDY/3.1")]
struct Args {
    /// The directory to serve.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// TLS with a throwaway self-signed certificate for localhost.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls_self_signed: bool,
    /// Speak SPDY/3.1 only: no HTTP/1.1 fallback.
    #[arg(long)]
    spdy_only: bool,
    /// List directories that have no index.html.
    #[arg(long)]
    listing: bool,
    /// Serve files whose names start with a dot (.git, .env); by default
    /// they answer 404, except .well-known.
    #[arg(long)]
    hidden: bool,
    /// Seconds to let transfers finish after Ctrl-C.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    grace: u64,
}

/// Threads for file I/O (tokio's blocking pool). tokio's default of 512
/// let a burst of short Range requests start hundreds of threads for reads
/// that take microseconds; this many keep a 2-core machine's disk busy.
const SPDYD_BLOCKING_THREADS: usize = 32;

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(SPDYD_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => fail(format!("cannot start the runtime: {error}")),
    };
    if let Err(message) = runtime.block_on(run(args)) {
        fail(message);
    }
}

fn fail(message: String) -> ! {
    eprintln!("spdyd: {message}");
    std::process::exit(1);
}

async fn run(args: Args) -> Result<(), String> {
    let files = StaticFiles::new(&args.root)
        .map_err(|e| format!("{}: {e}", args.root.display()))?
        .directory_listing(args.listing)
        .hidden_files(args.hidden);
    let root = files.root().display().to_string();
    let mut config = ServerConfig::default().spdy_only(args.spdy_only);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(tls::load_pem(cert, key).map_err(|e| e.to_string())?);
    } else if args.tls_self_signed {
        let cert =
            tls::self_signed(&["localhost", "127.0.0.1", "::1"]).map_err(|e| e.to_string())?;
        config.tls = Some(cert.config);
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let protocols = if args.spdy_only {
        "spdy/3.1"
    } else {
        "spdy/3.1 and http/1.1"
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    // The first line of stdout, for people and scripts alike; the second
    // says how to fetch. A reader that closed stdout must not stop the
    // server, so write errors are ignored.
    let insecure = if scheme == "https" { "--insecure " } else { "" };
    let _ = writeln!(
        std::io::stdout(),
        "spdyd: serving {root} on {scheme}://{bound}/ ({protocols})\n\
         spdyd: fetch with `cargo run --release -p spdy-client --bin spdycat -- {insecure}{scheme}://{bound}/FILE`"
    );
    let server = Server::new(files, config);
    let stopper = server.clone();
    let grace = Duration::from_secs(args.grace);
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: draining connections (Ctrl-C again to stop now)"
        );
        tokio::spawn(async {
            stop_signal().await;
            eprintln!("spdyd: stopped");
            std::process::exit(130);
        });
        stopper.shutdown(grace).await;
    });
    server
        .serve(listener)
        .await
        .map_err(|e| format!("accept failed: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
