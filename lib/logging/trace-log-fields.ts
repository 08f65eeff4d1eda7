import { trace } from '@opentelemetry/api';

/** The trace fields of a log record, named as the OpenTelemetry log conventions name them. */
export interface TraceLogFields {
  /** The active trace id, 32 hex digits. */
  trace_id: string;
  /** The active span id, 16 hex digits. */
  span_id: string;
  /** The trace flags as two hex digits: `01` when sampled. */
  trace_flags: string;
}

/**
 * The trace fields of the active span, to add to a log record, or an empty object when
 * nothing is traced. For pino, `pino({ mixin: traceLogFields })`; for winston, a format
 * that assigns them to the info object.
 *
 * @see https://opentelemetry.io/docs/specs/otel/compatibility/logging_trace_context/
 */
export function traceLogFields(): TraceLogFields | Record<string, never> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) {
    return {};
  }
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0'),
  };
}
