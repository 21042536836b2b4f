//! Start and memory: the server binary started on an existing database, timed to a healthy
//! `/healthz`, its memory idle and under load.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;
use vintrova_bench::{Figure, Stats};

use super::{PURPOSE, person, rows};

/// Start the server on an existing database: time to a healthy `/healthz`, memory idle and
/// under load (SQLite, the default install).
pub(super) async fn start_and_memory(out: &mut Vec<Figure>) {
    let Ok(bin) = std::env::var("VINTROVA_BIN") else {
        println!("(start and memory: set VINTROVA_BIN to the server binary; scripts/bench does)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("vintrova-bench-{}", Uuid::now_v7()));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let spawn = || {
        std::process::Command::new(&bin)
            .args([
                "--data-dir",
                dir.to_str().unwrap(),
                "serve",
                "--listen",
                &addr.to_string(),
            ])
            .env("VINTROVA_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let healthy = || async {
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
                let mut buf = vec![];
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let _ = s.read_to_end(&mut buf).await;
                if buf.starts_with(b"HTTP/1.1 200") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let rss = |pid: u32| -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    // First start creates the database; the measured ones open it.
    let mut first = spawn();
    healthy().await;
    first.kill().unwrap();
    first.wait().unwrap();
    let mut starts = vec![];
    let mut child = None;
    for _ in 0..5 {
        let t = Instant::now();
        let c = spawn();
        healthy().await;
        starts.push(t.elapsed());
        if let Some(mut old) = child.replace(c) {
            old.kill().unwrap();
            old.wait().unwrap();
        }
        let mut c = child.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let mut server = spawn();
    healthy().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss(server.id());
    let token = std::fs::read_to_string(dir.join("api-token")).unwrap_or_default();
    let token = token.trim();
    assert!(!token.is_empty(), "the first start writes the API token");
    // One person, with the consents the policy asks for their data, read over and over by 16
    // connections with the real token.
    let consents = vintrova_store_tests::shipped_policy()
        .consents_needed(rows(&person(1)).iter().map(|(field, _)| field.as_str()));
    let body = json!({"data": person(1), "source": "registration_form",
        "bases": [{"kind": "contract_started"}], "consents": consents})
    .to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /api/v1/subjects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut reply = vec![];
    let _ = s.read_to_end(&mut reply).await;
    let reply = String::from_utf8_lossy(&reply).to_string();
    // Measured under load or not at all: a refused person would leave nothing to read.
    let id = reply
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| {
            panic!(
                "the server stores the person: {}",
                reply.lines().next().unwrap_or("")
            )
        });
    let load_task = tokio::spawn(load_with(
        addr,
        format!("/api/v1/subjects/{id}/purposes/{PURPOSE}"),
        token.to_string(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let under_load = rss(server.id());
    load_task.await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let figure = Figure::new(
        "sqlite",
        "start: serve to a healthy /healthz",
        Stats::of(starts),
        None,
    );
    let met = figure.vintrova.median_ms < 200.0;
    out.push(figure.with(json!({
        "rss_idle_mb": idle, "rss_under_load_mb": under_load,
        "target": {"start_ms": 200, "idle_mb": 50, "met": met && idle < 50.0},
    })));
}

/// Load a real server (its own token) with 16 connections for 3 seconds.
async fn load_with(addr: std::net::SocketAddr, path: String, token: String) {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut tasks = vec![];
    for _ in 0..16 {
        let (path, token) = (path.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut buf = vec![0u8; 16 * 1024];
            while Instant::now() < deadline {
                let req = format!(
                    "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
                );
                s.write_all(req.as_bytes()).await.unwrap();
                if s.read(&mut buf).await.unwrap_or(0) == 0 {
                    break;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
