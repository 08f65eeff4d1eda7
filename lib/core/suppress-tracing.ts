import { createContextKey, type Context } from '@opentelemetry/api';

/**
 * The context key the OpenTelemetry SDK reads to create no spans at all (its tracer
 * returns a non-recording span while it is set). `createContextKey` makes a
 * `Symbol.for()` of the description, so this is the same key as the one in
 * `@opentelemetry/core`, without depending on that package.
 *
 * @see https://github.com/open-telemetry/opentelemetry-js/blob/main/packages/opentelemetry-core/src/trace/suppress-tracing.ts
 */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** `parent` with tracing switched off for everything that runs in it. */
export function suppressTracing(parent: Context): Context {
  return parent.setValue(SUPPRESS_TRACING_KEY, true);
}
