use flext_observability::health_check;

#[derive(Debug)]
struct DbError;

#[health_check]
async fn database() -> Result<(), DbError> {
    Err(DbError)
}

fn main() {}
