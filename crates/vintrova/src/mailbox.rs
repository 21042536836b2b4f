//! The data protection service's mailbox, read over IMAP as an intake of rights requests. Each
//! message not yet taken becomes a letter in the inbox (with the mail server's arrival time),
//! and only then is it flagged `VintrovaTaken` and `\Seen` on the server: a crash between the
//! two reads it again, and the inbox keeps one letter per Message-ID — as it does when two
//! servers read the same mailbox at once. TLS always: a mailbox of letters about people is never
//! read in clear.

use std::path::Path;
use std::sync::Arc;

use futures_util::TryStreamExt;
use mail_parser::MessageParser;
use percent_encoding::percent_decode_str;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use vintrova_core::requests::mailbox::ArrivedMail;
use vintrova_core::{Actor, Vintrova};

/// The keyword a message taken into the inbox carries on the server.
const TAKEN: &str = "VintrovaTaken";

pub struct Mailbox {
    host: String,
    port: u16,
    user: String,
    password: String,
    folder: String,
    tls: TlsConnector,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "imaps://{}:{}/{}", self.host, self.port, self.folder)
    }
}

impl Mailbox {
    /// `imaps://user:password@host[:993][/FOLDER]` (user and password percent-encoded, the
    /// folder `INBOX` when none); `ca` adds a private certificate authority to Mozilla's roots.
    pub fn new(url: &str, ca: Option<&Path>) -> Result<Mailbox, String> {
        let refused = |what: &str| {
            format!(
                "imap.url {what}; expected imaps://user:password@host:993/INBOX (VINTROVA_IMAP_URL)"
            )
        };
        let rest = url
            .strip_prefix("imaps://")
            .ok_or_else(|| refused("is not imaps:// — the mailbox is read over TLS only"))?;
        let (account, place) = rest
            .rsplit_once('@')
            .ok_or_else(|| refused("names no account"))?;
        let (user, password) = account
            .split_once(':')
            .ok_or_else(|| refused("has no password"))?;
        let (authority, folder) = place.split_once('/').unwrap_or((place, "INBOX"));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .map_err(|_| refused("has a port that is not a number"))?,
            ),
            None => (authority, 993),
        };
        if host.is_empty() {
            return Err(refused("has no host"));
        }
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(ca) = ca {
            for cert in CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("imap.ca_file {}: {e}", ca.display()))?
            {
                let cert = cert.map_err(|e| format!("imap.ca_file {}: {e}", ca.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("imap.ca_file {}: {e}", ca.display()))?;
            }
        }
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Mailbox {
            host: host.to_string(),
            port,
            user: decode(user),
            password: decode(password),
            folder: match folder {
                "" => "INBOX".to_string(),
                folder => decode(folder),
            },
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// One round: every message not yet taken goes into the inbox, then is flagged. Returns how
    /// many letters were new to the inbox.
    pub async fn read(&self, app: &Vintrova) -> Result<u64, String> {
        let failed = |what: &str| {
            let what = what.to_string();
            move |e: async_imap::error::Error| format!("the mailbox {self:?}: {what}: {e}")
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("the mailbox {self:?}: cannot connect: {e}"))?;
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| format!("the mailbox {self:?}: the host is not a name TLS can check"))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("the mailbox {self:?}: TLS failed: {e}"))?;
        let mut client = async_imap::Client::new(tls);
        client
            .read_response()
            .await
            .map_err(|e| format!("the mailbox {self:?}: no greeting: {e}"))?;
        let mut session = client
            .login(&self.user, &self.password)
            .await
            .map_err(|(e, _)| failed("the login was refused")(e))?;
        let folder = session
            .select(&self.folder)
            .await
            .map_err(failed("cannot open the folder"))?;
        let validity = folder.uid_validity.unwrap_or(0);
        let mut waiting: Vec<u32> = session
            .uid_search(format!("NOT KEYWORD {TAKEN}"))
            .await
            .map_err(failed("cannot search"))?
            .into_iter()
            .collect();
        waiting.sort_unstable();
        let reader = Actor::new("system", "mailbox");
        let mut new = 0;
        for uid in waiting {
            let fetched: Vec<_> = session
                .uid_fetch(uid.to_string(), "(UID INTERNALDATE BODY.PEEK[])")
                .await
                .map_err(failed("cannot fetch"))?
                .try_collect()
                .await
                .map_err(failed("cannot fetch"))?;
            for message in &fetched {
                let Some(raw) = message.body() else { continue };
                let arrived = message
                    .internal_date()
                    .and_then(|at| jiff::Timestamp::from_second(at.timestamp()).ok())
                    .unwrap_or_else(|| app.now());
                let mail = letter(
                    raw,
                    arrived,
                    &format!("<uid-{validity}-{uid}@{}>", self.folder),
                );
                if app
                    .mail_arrived(&reader, &mail)
                    .await
                    .map_err(|e| format!("cannot keep a letter from the mailbox: {e}"))?
                    .is_some()
                {
                    new += 1;
                }
            }
            // Flagged only once the letter is in the inbox: a crash before reads it again.
            let _: Vec<_> = session
                .uid_store(uid.to_string(), format!("+FLAGS ({TAKEN} \\Seen)"))
                .await
                .map_err(failed("cannot flag a letter taken"))?
                .try_collect()
                .await
                .map_err(failed("cannot flag a letter taken"))?;
        }
        session.logout().await.map_err(failed("cannot log out"))?;
        Ok(new)
    }
}

/// A message as the inbox keeps it: its Message-ID (or `fallback`, the folder's UID, when it
/// has none), sender, subject and text, decoded from whatever charset it came in.
fn letter(raw: &[u8], arrived: jiff::Timestamp, fallback: &str) -> ArrivedMail {
    let parsed = MessageParser::default().parse(raw);
    let text = |f: &dyn Fn(&mail_parser::Message<'_>) -> Option<String>| {
        parsed.as_ref().and_then(f).unwrap_or_default()
    };
    let message_id = text(&|m| m.message_id().map(|id| format!("<{id}>")));
    ArrivedMail {
        message_id: match message_id.is_empty() {
            true => fallback.to_string(),
            false => message_id,
        },
        received_at: arrived,
        from: text(&|m| {
            m.from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string)
        }),
        subject: text(&|m| m.subject().map(str::to_string)),
        body: text(&|m| m.body_text(0).map(|b| b.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_is_read_in_its_own_charset_with_its_sender_and_id() {
        // Subject and text in windows-1251, as many Russian mail clients still send.
        let mut raw = b"From: =?windows-1251?B?wOnj5fDo7A==?= <aigerim@example.kz>\r\n\
Subject: =?windows-1251?B?0+Tg6+jy5SDk4O3t++U=?=\r\n\
Message-ID: <abc-1@example.kz>\r\n\
Content-Type: text/plain; charset=windows-1251\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n"
            .to_vec();
        raw.extend([0xcf, 0xf0, 0xee, 0xf8, 0xf3]); // «Прошу»
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let mail = letter(&raw, at, "<uid-1-7@INBOX>");
        assert_eq!(mail.message_id, "<abc-1@example.kz>");
        assert_eq!(mail.from, "aigerim@example.kz");
        assert_eq!(mail.subject, "Удалите данные");
        assert_eq!(mail.body.trim(), "Прошу");
        assert_eq!(mail.received_at, at);
        let bare = letter(b"Subject: x\r\n\r\ntext", at, "<uid-1-7@INBOX>");
        assert_eq!(
            bare.message_id, "<uid-1-7@INBOX>",
            "no Message-ID: the folder's UID"
        );
    }

    #[test]
    fn the_mailbox_is_an_imaps_url_with_an_account() {
        let m = Mailbox::new(
            "imaps://info%40vintrova.com:p%40ss@mail.vintrova.com/Requests",
            None,
        )
        .unwrap();
        assert_eq!(
            (
                m.user.as_str(),
                m.password.as_str(),
                m.host.as_str(),
                m.port,
                m.folder.as_str()
            ),
            (
                "info@vintrova.com",
                "p@ss",
                "mail.vintrova.com",
                993,
                "Requests"
            )
        );
        for bad in [
            "imap://u:p@mail.vintrova.com",
            "imaps://mail.vintrova.com",
            "imaps://u@mail.vintrova.com",
            "imaps://u:p@mail.vintrova.com:x",
        ] {
            let refused = Mailbox::new(bad, None).unwrap_err();
            assert!(refused.starts_with("imap.url"), "{bad}: {refused}");
            assert!(!refused.contains(":p@"), "the password is never repeated");
        }
    }
}
