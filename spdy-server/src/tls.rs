//! TLS for the server: rustls configurations from PEM files or a
//! self-signed certificate, and the ALPN list.
//!
//! rustls has no NPN, the extension early SPDY deployments negotiated with;
//! ALPN replaces it (`spdy/3.1`, `http/1.1`). Clients that only know NPN
//! cannot negotiate SPDY with this server.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The ALPN id of SPDY/3.1.
pub const ALPN_SPDY31: &[u8] = b"spdy/3.1";
/// The ALPN id of HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Why a TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {detail}")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the certificate or key.
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    /// The certificate could not be generated.
    #[error("certificate generation failed: {0}")]
    Generate(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration presenting `chain` (leaf first) with `key`.
pub fn tls_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// A server configuration from a PEM certificate chain and a PEM private
/// key (PKCS#8, PKCS#1 or SEC1).
pub fn load_pem(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let pem_error = |path: &Path, detail: String| TlsError::Pem {
        path: path.display().to_string(),
        detail,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_error(cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_error(cert, "no certificate found".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e.to_string()))?;
    tls_config(chain, key_der)
}

/// A throwaway self-signed certificate and the configuration serving it.
#[derive(Debug)]
pub struct SelfSigned {
    /// The configuration to serve with.
    pub config: Arc<rustls::ServerConfig>,
    /// The certificate, for clients to trust.
    pub certificate: CertificateDer<'static>,
    /// The certificate in PEM.
    pub certificate_pem: String,
}

/// Generates a self-signed certificate for `names` (DNS names or IP
/// addresses) with rcgen.
pub fn self_signed(names: &[&str]) -> Result<SelfSigned, TlsError> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    let certificate = certified.cert.der().clone();
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    let config = tls_config(vec![certificate.clone()], key)?;
    Ok(SelfSigned {
        config,
        certificate,
        certificate_pem: certified.cert.pem(),
    })
}

/// `config` with the ALPN list the server offers.
pub(crate) fn with_alpn(
    config: &rustls::ServerConfig,
    spdy_only: bool,
) -> Arc<rustls::ServerConfig> {
    let mut config = config.clone();
    config.alpn_protocols = if spdy_only {
        vec![ALPN_SPDY31.to_vec()]
    } else {
        vec![ALPN_SPDY31.to_vec(), ALPN_HTTP11.to_vec()]
    };
    Arc::new(config)
}
