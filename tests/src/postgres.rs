//! A real PostgreSQL server (Debian's `postgresql` package) in a temporary directory on a
//! free loopback port, trust authentication, stopped and removed when dropped.
//!
//! `initdb` refuses to run as root: as root, the cluster is created and run as the
//! `postgres` user the package creates, in a directory handed to it.
//!
//! ```no_run
//! use flext_observability_tests::{postgres::Postgres, require};
//!
//! let pg = require!(Postgres::start(), "PostgreSQL", Postgres::INSTALL);
//! pg.create_database("orders");
//! let url = pg.url("orders"); // postgres://postgres@127.0.0.1:<port>/orders
//! ```

// PostgreSQL is a product name here, not code.
#![allow(clippy::doc_markdown)]

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::servers::which;
use crate::{eventually, free_port};

/// A running PostgreSQL server.
pub struct Postgres {
    child: Child,
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    log: PathBuf,
    run_as: Option<(u32, u32)>,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// How to get the server, for [`crate::missing`].
    pub const INSTALL: &'static str = "apt-get install postgresql";

    /// Creates a cluster and starts it. `None` when PostgreSQL is not installed (or the
    /// process is root and there is no `postgres` user to run it as).
    pub fn start() -> Option<Postgres> {
        let bin = bindir()?;
        let run_as = if is_root() {
            Some(user_ids("postgres")?)
        } else {
            None
        };
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("hand the temp dir to the postgres user");
        }
        let data = dir.path().join("data");
        let log = dir.path().join("postgres.log");
        let init = command(&bin, "initdb", run_as)
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync", "--no-instructions", "-D"])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            init.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        let file = std::fs::File::create(&log).expect("create the log");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&log, Some(uid), Some(gid)).expect("hand the log over");
        }
        // Durability off: a test cluster, thrown away.
        let child = command(&bin, "postgres", run_as)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=50"])
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log handle"))
            .stderr(file)
            .spawn()
            .expect("start postgres");
        let mut pg = Postgres {
            child,
            bin,
            data,
            port,
            log,
            run_as,
            _dir: dir,
        };
        pg.wait_ready();
        Some(pg)
    }

    fn wait_ready(&mut self) {
        let ready = eventually(Duration::from_secs(30), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "postgres exited with {status} before it was ready:\n{}",
                    self.log()
                );
            }
            let probe = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .output()
                .ok()?;
            probe.status.success().then_some(())
        });
        assert!(
            ready.is_some(),
            "postgres not ready after 30 s:\n{}",
            self.log()
        );
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` as the `postgres` superuser (no password).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `name` (an identifier: letters, digits, `_`).
    pub fn create_database(&self, name: &str) {
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(name)
            .output()
            .expect("run createdb");
        assert!(
            out.status.success(),
            "createdb {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A fast shutdown ends the backends and removes shared memory and the socket;
        // killing the postmaster is the fallback.
        let stopped = command(&self.bin, "pg_ctl", self.run_as)
            .args(["stop", "-m", "fast", "-w", "-t", "20", "-D"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn command(bin: &Path, name: &str, run_as: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bin.join(name));
    cmd.env("LC_ALL", "C");
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    cmd
}

/// The directory of `initdb`, `postgres`, `pg_ctl`, `pg_isready`: where the `initdb`
/// on `PATH` really is (links followed: some images link a few of them into
/// `/usr/local/bin`), else Debian's `/usr/lib/postgresql/<version>/bin` (newest).
fn bindir() -> Option<PathBuf> {
    if let Some(initdb) = which("initdb").and_then(|p| std::fs::canonicalize(p).ok()) {
        return initdb.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// (uid, gid) of `user`, from `/etc/passwd`.
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
    })
}
