//! The public half of the reverse tunnel: origins dial in on one port,
//! HTTP/1.1 clients (curl, browsers) connect to the other, and each request
//! is forwarded into the origin's session.
//!
//! ```sh
//! cargo run -p spdy-server --example tunnel_proxy -- 127.0.0.1:9443 127.0.0.1:8080
//! cargo run -p spdy-server --example tunnel_origin -- 127.0.0.1:9443 ./some-directory
//! curl http://127.0.0.1:8080/
//! ```

use spdy_server::ServerConfig;
use spdy_server::tunnel::TunnelProxy;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let origin_addr = args.next().unwrap_or_else(|| "127.0.0.1:9443".into());
    let public_addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let bind = |addr: String| async move {
        match tokio::net::TcpListener::bind(&addr).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("tunnel_proxy: cannot listen on {addr}: {error}");
                std::process::exit(1);
            }
        }
    };
    let origins = bind(origin_addr.clone()).await;
    let public = bind(public_addr.clone()).await;
    println!(
        "tunnel_proxy: origins dial {origin_addr}; HTTP/1.1 clients use http://{public_addr}/"
    );
    TunnelProxy::new(ServerConfig::default())
        .run(origins, public)
        .await;
}
