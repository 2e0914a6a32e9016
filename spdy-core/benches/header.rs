//! Header block benchmarks (being written).
fn main() {
    divan::main();
}
