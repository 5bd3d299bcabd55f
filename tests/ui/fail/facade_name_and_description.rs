// A name with a dash and no description: both mistakes are reported, on the name, and
// nothing else (no Rust path errors from the expansion).
fn main() {
    flext_observability::counter!("orders-placed_total").increment(1);
}
