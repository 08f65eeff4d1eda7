import { ProxyTracerProvider, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
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

/** What the API's global provider delegates to while no SDK is registered: its no-op provider. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Whether a tracer provider (an SDK) is registered. Without one every span is a
 * no-op, so a traced method can call straight through. The global provider is the
 * API's proxy, whose delegate is set when an SDK registers.
 */
export function tracerProviderRegistered(): boolean {
  const provider = trace.getTracerProvider() as Partial<ProxyTracerProvider>;
  return typeof provider.getDelegate !== 'function' || provider.getDelegate() !== NOOP_PROVIDER;
}
