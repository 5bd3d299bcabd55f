// Every `#[monitor]` option.
#![deny(warnings)]

use flext_observability::monitor;
use flext_observability as obs_alias;

#[monitor(name = "load_customer")]
fn load(id: u32) -> u32 {
    id
}

#[monitor(buckets = [0.000_5, 0.001, 0.01, 1, 10])]
fn numeric_buckets() {}

#[monitor(buckets = ["500us", "1ms", "250ms", "2s", "1m"])]
fn duration_buckets() {}

#[monitor(ok_if = Option::is_some)]
fn lookup(key: u32) -> Option<u32> {
    (key > 0).then_some(key)
}

#[monitor(error_if = |n: &u32| *n > 100)]
fn bounded(n: u32) -> u32 {
    n
}

#[monitor(crate = obs_alias)]
fn through_alias() {}

#[monitor(crate = "::flext_observability")]
fn through_string_path() {}

#[monitor(name = "all_at_once", buckets = [0.1, 1], error_if = Result::is_err, crate = obs_alias)]
fn combined() -> Result<(), ()> {
    Ok(())
}

fn main() {
    load(1);
    numeric_buckets();
    duration_buckets();
    lookup(1);
    bounded(1);
    through_alias();
    through_string_path();
    let _ = combined();
}
