//! TLS (R7.1): rustls with the ring provider, TLS 1.2 and 1.3 only (rustls has nothing older),
//! a certificate and key from configuration, or a self-signed pair for development.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The server's TLS settings from PEM certificate chain and private key.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!("the certificate file is not PEM ({e}); give the full chain in PEM")
        })?;
    if certs.is_empty() {
        return Err("the certificate file holds no certificate; give the full chain in PEM".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        format!("the key file holds no private key ({e}); give a PKCS#8, PKCS#1 or SEC1 key in PEM")
    })?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("the certificate and key do not fit together ({e})"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A self-signed certificate and its key (PEM) for `names`, for development only: browsers
/// warn about it, as they should.
pub fn self_signed(names: &[String]) -> Result<(String, String), String> {
    let pair = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    Ok((pair.cert.pem(), pair.signing_key.serialize_pem()))
}

/// Serve `router` over TLS on `listener` until `handle` shuts it down.
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    config: Arc<ServerConfig>,
    handle: Handle<SocketAddr>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(config))?
        .handle(handle)
        .serve(router.into_make_service_with_connect_info::<SocketAddr>())
        .await
}
