import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { TRACER_NAME, TRACER_VERSION } from '../tracing.constants';

let cachedProvider: TracerProvider | undefined;
let cachedTracer: Tracer | undefined;

/**
 * The package's tracer from the global tracer provider. Cached per provider: the
 * global one changes identity when it is disabled and registered again (as the
 * testing kit does between suites), and a stale tracer would write to the old one.
 */
export function getTracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (provider !== cachedProvider || cachedTracer === undefined) {
    cachedProvider = provider;
    cachedTracer = provider.getTracer(TRACER_NAME, TRACER_VERSION);
  }
  return cachedTracer;
}

/**
 * Where `@opentelemetry/api` 1.x keeps what is registered globally (`trace`,
 * `context`, `propagation`, `diag`). The object lives as long as the process;
 * `trace.disable()` deletes its `trace` entry.
 */
const API_REGISTRY = Symbol.for('opentelemetry.js.api.1');

let registry: { trace?: unknown } | undefined;

/**
 * Whether a tracer provider (an SDK) is registered. Without one every span is a
 * no-op, so a traced method can call straight through. Read from the API's global
 * registry rather than through `trace.getTracerProvider()`, which costs a traced call
 * more than the call itself.
 */
export function tracerProviderRegistered(): boolean {
  registry ??= (globalThis as { [API_REGISTRY]?: { trace?: unknown } })[API_REGISTRY];
  return registry?.trace !== undefined;
}
