//! Where log lines go: standard output, or a writer given to the builder, one `write`
//! call per line.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// Where log lines go: standard output, or a writer given to the builder.
#[derive(Clone)]
pub(crate) enum LogWriter {
    Stdout,
    Shared(Arc<Mutex<Box<dyn Write + Send>>>),
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogWriter::Stdout => "Stdout",
            LogWriter::Shared(_) => "Writer",
        })
    }
}

impl LogWriter {
    pub(crate) fn write_line(&self, line: &[u8]) {
        // Logging must never fail the program: write errors are ignored.
        match self {
            LogWriter::Stdout => {
                let _ = std::io::stdout().lock().write_all(line);
            }
            LogWriter::Shared(w) => {
                let _ = w
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .write_all(line);
            }
        }
    }
}

/// One `write` call per formatted line (the text layer formats a whole line first).
pub(crate) struct LineWriter(LogWriter);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_line(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter(self.clone())
    }
}
