//! A platform's webhook receiver, run by a test on 127.0.0.1: a thread that reads each HTTP
//! request, keeps it, and answers as it is told — 204, 500, closing the connection, or never.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::stories::Mode;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

pub struct HttpReceiver {
    pub url: String,
    mode: Arc<Mutex<Mode>>,
    got: mpsc::Receiver<Received>,
}

impl HttpReceiver {
    /// Listening at once, answering 204 until told otherwise.
    pub fn start() -> HttpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port on 127.0.0.1");
        let url = format!("http://{}/hooks/vintrova", listener.local_addr().unwrap());
        let mode = Arc::new(Mutex::new(Mode::Up));
        let (tx, got) = mpsc::channel();
        let answering = mode.clone();
        std::thread::spawn(move || {
            // Held, never answered: what a slow receiver does to a sender without a timeout.
            let mut held = vec![];
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mode = *answering.lock().unwrap();
                if let Some(kept) = answer(stream, mode, &tx) {
                    held.push(kept);
                }
            }
        });
        HttpReceiver { url, mode, got }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The next request accepted (answered 2xx), waiting at most `within` for it.
    pub fn next(&self, within: Duration) -> Option<Received> {
        self.got.recv_timeout(within).ok()
    }

    /// What was accepted and not yet taken.
    pub fn drain(&self) -> Vec<Received> {
        self.got.try_iter().collect()
    }
}

/// Read one request and answer it as `mode` says; a stream returned is held unanswered.
fn answer(mut stream: TcpStream, mode: Mode, tx: &mpsc::Sender<Received>) -> Option<TcpStream> {
    if mode == Mode::Down {
        return None;
    }
    let request = read_request(&stream)?;
    match mode {
        Mode::Slow => return Some(stream),
        Mode::Broken => {
            let _ = stream
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
        Mode::Up | Mode::Down => {
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            let _ = tx.send(request);
        }
    }
    None
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = vec![];
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        path,
        headers,
        body,
    })
}
