//! The home half of the reverse tunnel: dial the proxy, then serve a
//! directory over the session we opened; dial again (with back-off) when it
//! ends. See `tunnel_proxy.rs` for the commands.

use std::time::Duration;

use spdy_server::ServerConfig;
use spdy_server::static_files::StaticFiles;
use spdy_server::tunnel::serve_tunnel;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let proxy = args.next().unwrap_or_else(|| "127.0.0.1:9443".into());
    let root = args.next().unwrap_or_else(|| ".".into());
    let files = match StaticFiles::new(&root) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("tunnel_origin: {root}: {error}");
            std::process::exit(1);
        }
    };
    let mut backoff = Duration::from_millis(250);
    loop {
        match tokio::net::TcpStream::connect(&proxy).await {
            Ok(socket) => {
                let _ = socket.set_nodelay(true);
                println!("tunnel_origin: serving {root} through {proxy}");
                backoff = Duration::from_millis(250);
                let reason = serve_tunnel(socket, files.clone(), ServerConfig::default()).await;
                eprintln!("tunnel_origin: session ended: {reason}");
            }
            Err(error) => eprintln!("tunnel_origin: cannot reach {proxy}: {error}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
