//! Benchmarks live in `benches/`: `cargo bench -p vintrova-bench` prints each scenario of the
//! privacy core beside the same work on a plaintext table, as a ratio, on SQLite and PostgreSQL.
