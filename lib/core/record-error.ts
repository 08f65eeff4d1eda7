import { SpanKind, SpanStatusCode, type Exception, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ERROR_TYPE_VALUE_OTHER } from '@opentelemetry/semantic-conventions';

/**
 * The one error policy of the package: record the exception as a span event, set
 * `error.type`, and set status ERROR unless the span is a SERVER span and the error
 * carries an HTTP status below 500 (a client error is not the server's failure).
 * Copes with thrown non-Errors (strings, plain objects, `undefined`).
 *
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#status
 * @see https://opentelemetry.io/docs/specs/semconv/general/recording-errors/
 */
export function recordError(span: Span, error: unknown, kind: SpanKind): void {
  if (!span.isRecording()) {
    return;
  }
  recordException(span, error);
  const status = httpStatusOf(error);
  if (kind === SpanKind.SERVER && status !== undefined && status < 500) {
    return;
  }
  span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
}

/**
 * Records an error as the span's `exception` event and sets `error.type`, leaving
 * the status to the caller (an HTTP server span decides it from the response).
 */
export function recordException(span: Span, error: unknown): void {
  span.recordException(toException(error));
  span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(error));
}

/**
 * The HTTP status an error carries, read the way Nest's `HttpException`
 * exposes it (`getStatus()`), without importing Nest here.
 */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) {
    return undefined;
  }
  const getStatus = (error as { getStatus?: unknown }).getStatus;
  if (typeof getStatus !== 'function') {
    return undefined;
  }
  try {
    const status: unknown = getStatus.call(error);
    return typeof status === 'number' ? status : undefined;
  } catch {
    return undefined;
  }
}

/** A low-cardinality name for an error: its class name, or `_OTHER`. */
export function errorTypeOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) {
    return ERROR_TYPE_VALUE_OTHER;
  }
  const className = (error as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof className === 'string' && className !== '' && className !== 'Object') {
    return className;
  }
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : ERROR_TYPE_VALUE_OTHER;
}

/** A one-line description of anything thrown, for a span status. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') {
      return message;
    }
  }
  return describe(error);
}

function toException(error: unknown): Exception {
  if (error instanceof Error || typeof error === 'string') {
    return error;
  }
  if (typeof error === 'object' && error !== null) {
    const { name, stack } = error as { name?: unknown; stack?: unknown };
    return {
      name: errorTypeOf(error),
      message: messageOf(error),
      stack: typeof stack === 'string' ? stack : undefined,
      ...(typeof name === 'string' ? { name } : {}),
    };
  }
  return describe(error);
}

/**
 * A thrown value with no message, in words. Never an object's content: it is the
 * app's data (a request with its headers, a user record) and may hold secrets.
 */
function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) {
    return String(value);
  }
  const type = errorTypeOf(value);
  return type === ERROR_TYPE_VALUE_OTHER ? 'a thrown object with no message' : `a thrown ${type} with no message`;
}
