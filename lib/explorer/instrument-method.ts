import { context as contextApi, SpanKind, type SpanOptions } from '@opentelemetry/api';
import { ATTR_CODE_FUNCTION_NAME } from '@opentelemetry/semantic-conventions';
import { copyFunctionMetadata, NestAttributes, runInSpan, tracerProviderRegistered, tracingState } from '../core';
import { TRACED_WRAPPER } from '../tracing.constants';

/** What a span of automatic instrumentation wraps: `nestjs.type`. */
export type InstrumentedType =
  'guard' | 'pipe' | 'interceptor' | 'filter' | 'middleware' | 'handler' | 'provider' | 'cron' | 'event';

/**
 * @internal Which kinds of automatic spans are on, read when a wrapped method is
 * called: methods may be wrapped before any module exists (by `tracingInstrument()`),
 * and `TracingModule` sets these from its options.
 */
export const autoInstrumentState: Record<InstrumentedType, boolean> = {
  guard: false,
  pipe: false,
  interceptor: false,
  filter: false,
  middleware: false,
  handler: false,
  provider: false,
  cron: true,
  event: true,
};

/** Whether a function is a wrapper of this package's (`@Traced()` or automatic). */
export function isTracedFunction(fn: unknown): boolean {
  return typeof fn === 'function' && TRACED_WRAPPER in fn;
}

/**
 * Replaces `instance[methodName]` with a wrapper that runs it in a span named
 * `{Class}.{method}` (with `nestjs.type` and `nestjs.class`) while spans of `type` are
 * on. The wrapper is an own property of the instance (the class is not changed), calls
 * the original with the instance as `this`, and carries the method's metadata. A
 * method already wrapped (by `@Traced()` or here) is left as it is.
 */
export function instrumentMethod(instance: object, methodName: string, type: InstrumentedType): void {
  const target = instance as Record<string, unknown>;
  const original = target[methodName];
  if (typeof original !== 'function' || isTracedFunction(original)) {
    return;
  }
  const className = instance.constructor?.name ?? 'Object';
  const name = `${className}.${methodName}`;
  const options: SpanOptions = {
    kind: SpanKind.INTERNAL,
    attributes: {
      [ATTR_CODE_FUNCTION_NAME]: name,
      [NestAttributes.CLASS]: className,
      [NestAttributes.TYPE]: type,
    },
  };
  const method = original as (...args: unknown[]) => unknown;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (!tracingState.enabled || !autoInstrumentState[type] || !tracerProviderRegistered()) {
      return method.apply(this, args);
    }
    if (type === 'middleware' && typeof args[2] === 'function') {
      // What `next()` runs (the next middleware, guards, the handler) belongs to the
      // request, not to this middleware's span.
      args[2] = contextApi.bind(contextApi.active(), args[2]);
    }
    return runInSpan(name, options, () => method.apply(this, args));
  };
  copyFunctionMetadata(method, wrapped);
  Object.defineProperty(wrapped, TRACED_WRAPPER, { value: true });
  Object.defineProperty(instance, methodName, {
    value: wrapped,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
