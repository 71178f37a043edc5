//! Logging: JSON lines (one object per event, with the request's span fields) or human-readable
//! text, to stderr; stdout stays for command output. `RUST_LOG` refines the level (default info).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Reporting a failed log write on stderr would panic when stderr is what failed (a closed
        // pipe): a lost log line must never take the service down.
        .log_internal_errors(false);
    // A second init (tests start many apps in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
