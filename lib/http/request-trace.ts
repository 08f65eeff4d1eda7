import { SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf, NestAttributes, recordException, runHook } from '../core';
import type { ResolvedHttpTracingOptions } from './http-tracing.options';

/** The property of a raw request and response that holds its `RequestTrace` (`null`: left untraced). */
export const REQUEST_TRACE = Symbol('nestjs-tracing.request-trace');

/** A raw request or response that may carry a `RequestTrace`. */
export type TraceCarrier = { [REQUEST_TRACE]?: RequestTrace | null };

/** `error.type` of a request whose client went away before the response was finished. */
export const ABORTED_ERROR_TYPE = 'aborted';

const ABORTED_MESSAGE = 'The client closed the connection before the exchange was complete';

/**
 * The SERVER span of one HTTP request and what is learnt about the request while
 * Nest handles it. Ends the span once, when the response closes.
 */
export class RequestTrace {
  private named = false;
  private handled = false;
  private failed = false;
  private error: unknown;
  private ended = false;

  constructor(
    /** The SERVER span: this package's, or one `instrumentation-http` started (`owned` false). */
    readonly span: Span,
    /** The context the request runs in: the span's. */
    readonly context: Context,
    private readonly owned: boolean,
    private readonly spanNamePrefix: string,
    /** The adapter's request (Express or Fastify), which knows the matched route. */
    private readonly adapterRequest: object,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly options: ResolvedHttpTracingOptions,
  ) {}

  /**
   * Marks the request as reaching `controller.handler` and names the span from the
   * matched route. Returns `false` when a handler was already entered (the
   * interceptor is both global and in `@UseInterceptors`).
   */
  enterHandler(controller: string, handler: string): boolean {
    if (this.handled) {
      return false;
    }
    this.handled = true;
    if (this.span.isRecording()) {
      this.span.setAttribute(NestAttributes.CONTROLLER, controller);
      this.span.setAttribute(NestAttributes.HANDLER, handler);
      this.name();
    }
    return true;
  }

  /** Records the first exception that reaches the request's handler. */
  recordError(error: unknown): void {
    if (this.failed) {
      return;
    }
    this.failed = true;
    this.error = error;
    if (this.span.isRecording()) {
      recordException(this.span, error);
    }
  }

  /** Ends the span with what the response says, once. */
  end(): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    if (this.span.isRecording()) {
      this.name();
      this.describeResponse();
    }
    if (this.owned) {
      this.span.end();
    }
  }

  private name(): void {
    if (this.named) {
      return;
    }
    this.named = true;
    const route = matchedRoute(this.adapterRequest);
    if (route !== undefined) {
      this.span.setAttribute(ATTR_HTTP_ROUTE, route);
    }
    const hook = this.options.spanNameHook;
    const custom = hook === undefined ? undefined : runHook('http.spanNameHook', () => hook(this.request, route));
    this.span.updateName(
      typeof custom === 'string' && custom !== ''
        ? custom
        : route === undefined
          ? this.spanNamePrefix
          : `${this.spanNamePrefix} ${route}`,
    );
  }

  private describeResponse(): void {
    const { span, response } = this;
    const status = response.headersSent ? response.statusCode : undefined;
    if (status !== undefined) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      for (const [name, attribute] of this.options.responseHeaders) {
        const value = response.getHeader(name);
        if (value !== undefined) {
          span.setAttribute(attribute, Array.isArray(value) ? value : [String(value)]);
        }
      }
    }
    // The client left while sending its request, or before the whole answer reached it.
    const incomplete = !this.request.complete;
    const aborted = incomplete || !response.writableFinished;
    if (!this.failed) {
      const errorType = aborted
        ? ABORTED_ERROR_TYPE
        : status !== undefined && status >= 400
          ? String(status)
          : undefined;
      if (errorType !== undefined) {
        span.setAttribute(ATTR_ERROR_TYPE, errorType);
      }
    }
    // A 5xx is the server's failure; so is a request dropped before it was answered.
    // A 4xx, or a client leaving a stream it already got the headers of, is not.
    if ((status !== undefined && status >= 500) || incomplete || (aborted && status === undefined)) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: this.failed ? messageOf(this.error) : aborted ? ABORTED_MESSAGE : undefined,
      });
    }
  }
}

/**
 * The route template the adapter matched (`/api/v1/users/:id`, global prefix and
 * version included), or `undefined` when none did (a 404).
 */
function matchedRoute(adapterRequest: object): string | undefined {
  // Fastify matches before its `onRequest` hooks run and keeps the route's options.
  const routeOptions = (adapterRequest as { routeOptions?: { url?: unknown } }).routeOptions;
  if (routeOptions !== undefined) {
    return typeof routeOptions.url === 'string' ? routeOptions.url : undefined;
  }
  // Express sets `req.route` on the request when a route's handler runs.
  const { route, baseUrl } = adapterRequest as { route?: { path?: unknown }; baseUrl?: unknown };
  if (typeof route?.path !== 'string') {
    return undefined;
  }
  return typeof baseUrl === 'string' ? baseUrl + route.path : route.path;
}

/** The `close` listener of a traced response. */
export function endRequestTrace(this: ServerResponse): void {
  (this as TraceCarrier)[REQUEST_TRACE]?.end();
}
