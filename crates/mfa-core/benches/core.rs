//! Benchmarks of the engine (filled in by the benchmark work).
fn main() {}
