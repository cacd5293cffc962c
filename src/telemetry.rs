//! [`Telemetry`]: hone's spans, exported over OTLP to the tracing backend
//! you already run (Jaeger, Tempo, Honeycomb, an OpenTelemetry Collector…).
//!
//! hone instruments itself with `tracing` spans named and attributed after
//! the OpenTelemetry GenAI semantic conventions:
//!
//! | span | attributes |
//! |---|---|
//! | `agent` | `hone.strategy` |
//! | `run` | `hone.graph`, `hone.run_id` |
//! | `node` | `hone.node`, `hone.step` |
//! | `chat` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.request.temperature`/`max_tokens`/…, `gen_ai.response.model`, `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens`/`output_tokens`, `hone.node`, `hone.template`, `hone.cache_hit` |
//! | `verify` | `hone.verifier`, `hone.verified`, `hone.evidence.passed`/`total` |
//! | `execute_tool` | `gen_ai.operation.name`, `gen_ai.tool.name`, `gen_ai.tool.call.id`, `hone.tool.ok` |
//!
//! [`Telemetry::init`] installs the process's subscriber: log lines to
//! stderr (`RUST_LOG`, default `warn`) and, when
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set, those spans exported over OTLP/HTTP (protobuf) in batches. `hone`
//! itself calls it, so
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 hone solve "…"
//! ```
//!
//! shows every model call, verification and tool call of the run as a
//! trace. To compose your own subscriber, add [`otlp_layer`]'s layer.
//! Keep the returned [`Telemetry`] alive: dropping it flushes what is
//! still batched.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The environment variables that turn export on, most specific first.
pub const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built (a malformed endpoint…).
    #[error("the OTLP exporter for {endpoint}: {source}")]
    Exporter {
        /// The traces endpoint.
        endpoint: String,
        /// The cause.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// The log filter when `RUST_LOG` is unset: warnings, except llama.cpp's
/// own, which at model load are about the GGUF file (a token's type, say)
/// and nothing a user can act on; its errors still show.
pub const DEFAULT_LOG_FILTER: &str = "warn,llama-cpp-2=error";

/// Keeps span export running; dropping it flushes and stops the exporter.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    endpoint: Option<String>,
}

impl Telemetry {
    /// Installs the global subscriber: log lines to stderr filtered by
    /// `RUST_LOG` (default [`DEFAULT_LOG_FILTER`]), plus OTLP export when an endpoint
    /// variable is set (see the [module docs](self)).
    pub fn init() -> Result<Telemetry, TelemetryError> {
        let endpoint = traces_endpoint(|name| std::env::var(name).ok());
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter);
        match endpoint {
            Some(endpoint) => {
                let (layer, telemetry) = otlp_layer(&endpoint)?;
                tracing_subscriber::registry()
                    .with(fmt)
                    .with(layer)
                    .try_init()?;
                Ok(telemetry)
            }
            None => {
                tracing_subscriber::registry().with(fmt).try_init()?;
                Ok(Telemetry::default())
            }
        }
    }

    /// Where spans go, if anywhere.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Sends what is batched now.
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            if let Err(e) = provider.force_flush() {
                eprintln!("warning: exporting spans: {e}");
            }
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("warning: exporting the last spans: {e}");
            }
        }
    }
}

/// The OTLP/HTTP traces URL from the environment (`lookup` reads a
/// variable): `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`, as the OpenTelemetry
/// specification says.
///
/// ```
/// let env = |name: &str| (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://collector:4318/".to_string());
/// assert_eq!(hone::telemetry::traces_endpoint(env).as_deref(), Some("http://collector:4318/v1/traces"));
/// assert_eq!(hone::telemetry::traces_endpoint(|_| None), None);
/// ```
pub fn traces_endpoint(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    if let Some(url) = set(ENDPOINT_VARIABLES[0]) {
        return Some(url);
    }
    set(ENDPOINT_VARIABLES[1]).map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
}

/// A layer exporting hone's spans (targets `hone*`) to the OTLP/HTTP traces
/// URL `endpoint`, in batches from a background thread, and the
/// [`Telemetry`] that flushes it.
pub fn otlp_layer<S>(endpoint: &str) -> Result<(impl Layer<S> + 'static, Telemetry), TelemetryError>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_string(),
            source,
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("hone")
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("hone"))
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.target().starts_with("hone")
        }));
    Ok((
        layer,
        Telemetry {
            provider: Some(provider),
            endpoint: Some(endpoint.to_string()),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::DEFAULT_LOG_FILTER;

    #[test]
    fn the_default_log_filter_parses_with_its_llama_cpp_directive() {
        // `EnvFilter::new` drops a directive it cannot parse without a word.
        let filter = tracing_subscriber::EnvFilter::try_new(DEFAULT_LOG_FILTER)
            .expect("every directive parses");
        let text = filter.to_string();
        assert!(text.contains("llama-cpp-2=error"), "{text}");
    }
}
