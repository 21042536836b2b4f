//! Benchmarks live in `benches/` (`suite`: every scenario of issue 10; `retention_sweep`: the
//! sweep over a million records with a writer alongside); `scripts/bench` runs them all. This
//! library is what they share: backends, timing statistics, and the results file.
//!
//! Every scenario prints its median, p99 and ratio to the same work on a plaintext schema (no
//! encryption, gate or audit), and is appended to `target/bench/results.json` so runs can be
//! compared (`VINTROVA_BENCH_OUT` to write elsewhere).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use vintrova_store_tests::Harness;

/// The same body for either backend's pool.
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            vintrova_store_tests::RawPool::Sqlite($p) => $body,
            vintrova_store_tests::RawPool::Postgres($p) => $body,
        }
    };
}

/// The backends to run, from `VINTROVA_BENCH_BACKENDS` (`sqlite,postgres` by default).
pub fn backends() -> Vec<String> {
    std::env::var("VINTROVA_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|b| b.trim().to_string())
        .collect()
}

pub async fn harness(backend: &str) -> Harness {
    match backend {
        "sqlite" => Harness::sqlite().await,
        "postgres" => Harness::postgres().await,
        other => panic!("unknown backend `{other}`; use sqlite or postgres"),
    }
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Median and 99th percentile of a set of timings, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stats {
    pub n: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    pub fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Stats {
            n: samples.len(),
            median_ms: ms(percentile(&samples, 0.5)),
            p99_ms: ms(percentile(&samples, 0.99)),
        }
    }
}

/// One scenario's figures on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub backend: String,
    pub scenario: String,
    pub vintrova: Stats,
    /// The same work on the plaintext schema, when there is such a thing.
    pub plaintext: Option<Stats>,
    /// Median over median: how much privacy costs.
    pub ratio: Option<f64>,
    /// Throughput, sizes, the target: whatever else the scenario measures.
    pub extra: serde_json::Value,
}

impl Figure {
    pub fn new(backend: &str, scenario: &str, vintrova: Stats, plaintext: Option<Stats>) -> Self {
        Figure {
            backend: backend.into(),
            scenario: scenario.into(),
            vintrova,
            plaintext,
            ratio: plaintext.map(|p| vintrova.median_ms / p.median_ms.max(1e-6)),
            extra: serde_json::Value::Null,
        }
    }

    pub fn with(mut self, extra: serde_json::Value) -> Self {
        self.extra = extra;
        self
    }

    pub fn print(&self) {
        let ratio = self.ratio.map_or(String::from("-"), |r| format!("{r:.2}x"));
        let plain = self.plaintext.map_or(String::from("-"), |p| {
            format!("{:.3} / {:.3}", p.median_ms, p.p99_ms)
        });
        let extra = if self.extra.is_null() {
            String::new()
        } else {
            self.extra.to_string()
        };
        println!(
            "{:<9} {:<44} {:>10.3} {:>10.3}  {:>22}  {:>7}  {}",
            self.backend,
            self.scenario,
            self.vintrova.median_ms,
            self.vintrova.p99_ms,
            plain,
            ratio,
            extra
        );
    }
}

pub fn print_header(title: &str) {
    println!("\n{title}\n");
    println!(
        "{:<9} {:<44} {:>10} {:>10}  {:>22}  {:>7}  extra",
        "backend", "scenario", "median ms", "p99 ms", "plaintext median / p99", "ratio"
    );
}

/// Append `figures` to the results file, one run per entry with its time.
pub fn save(bench: &str, figures: &[Figure]) {
    let path = std::env::var("VINTROVA_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/results.json")
        });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the results directory");
    }
    let mut runs: Vec<serde_json::Value> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    runs.push(serde_json::json!({
        "bench": bench,
        "at": jiff::Timestamp::now().to_string(),
        "figures": figures,
    }));
    std::fs::write(&path, serde_json::to_vec_pretty(&runs).expect("JSON"))
        .expect("write the results file");
    println!("\nresults appended to {}", path.display());
}
