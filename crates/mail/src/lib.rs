//! How the outbox's messages leave: SMTP (lettre, rustls with ring) when an SMTP URL is
//! configured, `.eml` files in the data directory otherwise.
//!
//! May not: decide what to send or to whom — the outbox in core does; a transport only carries
//! one message and says whether it arrived.

mod file;
mod smtp;

pub use file::FileTransport;
pub use smtp::SmtpTransport;
