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
