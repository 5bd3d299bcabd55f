//! One test of the running test binary, run again in a process of its own.
//!
//! Some behaviour shows once per process: `install()` succeeds once, reads the process
//! environment, and every counter starts at zero. A parent test runs a child test of
//! its own binary with [`Child::run`]. The child test is `#[ignore]`d, with a reason that
//! names its parent, so `cargo test` reports it as ignored rather than as a pass that
//! checked nothing; its first line is [`enter`], which fails it when it is run by hand
//! (`--ignored`, `--include-ignored`) instead of by its parent.
//!
//! The child starts from the parent's environment without the variables that configure
//! the runtime (`OTEL_*`, `FLEXT_OBS_*`, `LOG_*`), so a developer's shell cannot change
//! what a child test sees; the parent adds the ones the case needs.

use std::process::Command;

/// Names the child test a process was started to run.
const CHILD: &str = "FLEXT_OBS_TEST_CHILD";

/// Prefixes of the variables a child does not inherit.
const NOT_INHERITED: [&str; 3] = ["OTEL_", "FLEXT_OBS_", "LOG_"];

/// First line of a child test: fails it unless [`Child::run`] started this process to
/// run the test called `name`.
#[track_caller]
pub fn enter(name: &str) {
    let started_for = std::env::var(CHILD).ok();
    assert!(
        started_for.as_deref() == Some(name),
        "`{name}` is a child process of another test and runs only when that test starts it \
         (its `#[ignore]` reason names it): run the parent test instead"
    );
}

/// A child test to run in a new process, and the environment to give it.
#[must_use = "a child does nothing until `run`"]
pub struct Child {
    name: &'static str,
    command: Command,
}

impl Child {
    /// The test `name` (a test fn at the root of the running test binary).
    pub fn new(name: &'static str) -> Child {
        let exe = std::env::current_exe().expect("the path of the running test binary");
        let mut command = Command::new(exe);
        command.args([
            "--ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ]);
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if NOT_INHERITED.iter().any(|p| key_text.starts_with(p)) {
                command.env_remove(&key);
            }
        }
        command.env(CHILD, name);
        Child { name, command }
    }

    /// Sets one variable in the child's environment.
    pub fn env(mut self, key: &str, value: &str) -> Child {
        self.command.env(key, value);
        self
    }

    /// Sets several variables in the child's environment.
    pub fn envs(mut self, vars: &[(&str, &str)]) -> Child {
        self.command.envs(vars.iter().copied());
        self
    }

    /// Runs the child to its end and returns what it printed (stdout, then stderr).
    /// Panics, with that output, unless exactly this one test ran and passed.
    pub fn run(self) -> String {
        self.finish(true)
    }

    /// Runs a child that must fail (a test returning `Err`, as a `main` returning
    /// `Result` would): returns what it printed; panics unless it ran and failed.
    pub fn run_failing(self) -> String {
        self.finish(false)
    }

    fn finish(mut self, succeed: bool) -> String {
        let out = self
            .command
            .output()
            .unwrap_or_else(|e| panic!("cannot start the child process `{}`: {e}", self.name));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let output = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        // A renamed or un-ignored child would make the filter match nothing, and an
        // empty run passes.
        assert!(
            stdout.contains("running 1 test"),
            "no ignored test named `{}` in this binary:\n{output}",
            self.name
        );
        assert_eq!(
            out.status.success(),
            succeed,
            "the child process `{}` ended with {}:\n{output}",
            self.name,
            out.status
        );
        output
    }
}
