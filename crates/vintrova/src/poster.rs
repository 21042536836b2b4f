//! Webhooks leave as one HTTP/1.1 POST each, over TLS for `https://` (Mozilla's roots, the
//! `ring` provider every other TLS in the binary uses), within a timeout. Redirects are not
//! followed: a 3xx is a failure the operator sees, not a body sent to an address nobody chose.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use vintrova_core::endpoints::Poster;

pub struct HttpPoster {
    timeout: Duration,
    tls: TlsConnector,
}

impl HttpPoster {
    pub fn new(timeout: Duration) -> HttpPoster {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        HttpPoster {
            timeout,
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    async fn send(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
        let uri: Uri = url
            .parse()
            .map_err(|_| "the endpoint's address does not parse".to_string())?;
        let host = uri.host().ok_or("the endpoint's address has no host")?;
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| host.to_string());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = Request::post(path).header(hyper::header::HOST, authority);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        // A host in brackets is an IPv6 literal; the connector wants it bare.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = TcpStream::connect((bare, port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        if !https {
            return exchange(TokioIo::new(tcp), request).await;
        }
        let name = ServerName::try_from(bare.to_string())
            .map_err(|_| "the endpoint's host is not a name TLS can check".to_string())?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with the endpoint failed: {e}"))?;
        exchange(TokioIo::new(tls), request).await
    }
}

async fn exchange<I>(io: I, request: Request<Full<Bytes>>) -> Result<u16, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP with the endpoint failed: {e}"))?;
    let driving = tokio::spawn(connection);
    let answer = sender.send_request(request).await;
    driving.abort();
    answer
        .map(|response| response.status().as_u16())
        .map_err(|e| format!("HTTP with the endpoint failed: {e}"))
}

#[async_trait::async_trait]
impl Poster for HttpPoster {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
        tokio::time::timeout(self.timeout, self.send(url, headers, body))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", self.timeout.as_secs())))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use vintrova_core::endpoints::Poster;
    use vintrova_store_tests::receiver::{HttpReceiver, Mode};

    use super::HttpPoster;

    const WITHIN: Duration = Duration::from_secs(5);

    /// Each way a receiver fails is an attempt that failed, said in words the operator can
    /// act on; a receiver that answers gets the body and every header as sent.
    #[tokio::test]
    async fn a_post_reaches_the_receiver_and_each_failure_is_named() {
        let poster = HttpPoster::new(Duration::from_secs(1));
        let receiver = HttpReceiver::start();
        let headers = [("webhook-id", "evt-1".to_string())];
        let post = || poster.post(&receiver.url, &headers, br#"{"type":"account.closed"}"#);

        assert_eq!(post().await, Ok(204));
        let got = receiver.next(WITHIN).expect("the receiver got it");
        assert_eq!(got.path, "/hooks/vintrova");
        assert_eq!(got.header("webhook-id"), "evt-1");
        assert_eq!(got.body, br#"{"type":"account.closed"}"#);

        receiver.set(Mode::Broken);
        assert_eq!(post().await, Ok(500));
        receiver.set(Mode::Slow);
        assert_eq!(post().await, Err("no answer within 1 s".to_string()));
        receiver.set(Mode::Down);
        let closed = post().await.unwrap_err();
        assert!(
            closed.starts_with("HTTP with the endpoint failed"),
            "{closed}"
        );

        // Nobody listening at all.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let refused = poster
            .post(&format!("http://127.0.0.1:{port}/"), &headers, b"{}")
            .await
            .unwrap_err();
        assert!(refused.starts_with("cannot connect"), "{refused}");
        assert!(receiver.drain().is_empty(), "only the first was accepted");
    }
}
