import { Injectable } from '@nestjs/common';
import {
  context,
  propagation,
  SpanKind,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';
import { extractRemote, getTracer, NON_RECORDING_SPAN, recordError, runInSpan, tracingState } from './core';

/**
 * Reads, enriches and creates spans from handlers and providers. Every method that
 * acts on "the active span" is a safe no-op when there is none.
 */
@Injectable()
export class TracingService {
  /** The package's tracer from the global tracer provider. */
  getTracer(): Tracer {
    return getTracer();
  }

  /** The active span, or `undefined` when nothing is being traced. */
  getActiveSpan(): Span | undefined {
    return trace.getActiveSpan();
  }

  /** The trace id of the active span (32 hex digits), or `undefined` when there is none. */
  getTraceId(): string | undefined {
    const spanContext = trace.getActiveSpan()?.spanContext();
    return spanContext !== undefined && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
  }

  /**
   * Runs `fn` in a new active span, a child of the active one, and ends it when the
   * work `fn` returns is over, exactly as `@Traced()` does (Promises, Observables,
   * async iterables, throws).
   */
  startActiveSpan<T>(name: string, fn: (span: Span) => T): T;
  startActiveSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => T): T;
  startActiveSpan<T>(name: string, options: SpanOptions, parent: Context, fn: (span: Span) => T): T;
  startActiveSpan<T>(
    name: string,
    ...rest: [(span: Span) => T] | [SpanOptions, (span: Span) => T] | [SpanOptions, Context, (span: Span) => T]
  ): T {
    const fn = rest[rest.length - 1] as (span: Span) => T;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : {};
    const parent = rest.length > 2 ? (rest[1] as Context) : context.active();
    if (!tracingState.enabled) {
      return fn(NON_RECORDING_SPAN);
    }
    return runInSpan(name, options, fn, parent);
  }

  /** Sets attributes on the active span. */
  setAttributes(attributes: Attributes): void {
    trace.getActiveSpan()?.setAttributes(attributes);
  }

  /** Adds an event (a timestamped log line) to the active span. */
  addEvent(name: string, attributes?: Attributes, time?: TimeInput): void {
    trace.getActiveSpan()?.addEvent(name, attributes, time);
  }

  /**
   * Records an error on the active span with the package's error policy: an
   * `exception` event, `error.type`, and status ERROR (except a 4xx `HttpException`
   * on a SERVER span). Accepts anything that was thrown, not only `Error`s.
   */
  recordException(error: unknown): void {
    const span = trace.getActiveSpan();
    if (span !== undefined) {
      recordError(span, error, (span as Partial<{ kind: SpanKind }>).kind ?? SpanKind.INTERNAL);
    }
  }

  /** Writes the active context (`traceparent`, `tracestate`, baggage) into a carrier with the global propagator. */
  inject<Carrier extends object>(carrier: Carrier, from: Context = context.active()): Carrier {
    propagation.inject(from, carrier);
    return carrier;
  }

  /**
   * Reads a context from a carrier with the global propagator, on top of `base`
   * (the active context by default). Run work in it with `context.with()` or pass it
   * to `startActiveSpan()` as the parent.
   */
  extract(carrier: object, base: Context = context.active()): Context {
    return extractRemote(base, carrier);
  }
}
