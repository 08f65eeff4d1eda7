import { SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import { messageOf, NestAttributes, recordException, runHook } from '../core';
import type { HttpRequest, ResolvedHttpTracingOptions } from './http-tracing.options';

/**
 * Where a request's `RequestTrace` is kept (`null`: left untraced). On an adapter's
 * own request object (Fastify's), a property: its shape is the same for every request.
 * On Node's request (Express's), a WeakMap entry: Express swaps the prototype of
 * Node's request, and a new property on it costs V8 a new hidden class per request.
 */
const REQUEST_TRACE = Symbol('nestjs-tracing.request-trace');
const requestTraces = new WeakMap<object, RequestTrace | null>();

type TraceCarrier = { [REQUEST_TRACE]?: RequestTrace | null };

/**
 * The trace of a request, by the adapter's request and Node's request under it:
 * `undefined` when none was started, `null` when left untraced.
 */
export function requestTraceOf(adapterRequest: object, request: object): RequestTrace | null | undefined {
  return adapterRequest === request ? requestTraces.get(request) : (adapterRequest as TraceCarrier)[REQUEST_TRACE];
}

/** Ties a trace (or `null`: left untraced) to a request. */
export function setRequestTrace(adapterRequest: object, request: object, requestTrace: RequestTrace | null): void {
  if (adapterRequest === request) {
    requestTraces.set(request, requestTrace);
  } else {
    (adapterRequest as TraceCarrier)[REQUEST_TRACE] = requestTrace;
  }
}

/** Node's response under an adapter's response, HTTP/1.1 or HTTP/2. */
export type RawResponse = ServerResponse | Http2ServerResponse;

/** The property of an HTTP/1.1 connection that holds the traces of its requests still open. */
const OPEN_TRACES = Symbol('nestjs-tracing.open-traces');

type Connection = Socket & { [OPEN_TRACES]?: Set<RequestTrace> };

/** `error.type` of a request whose client went away before the response was finished. */
const ABORTED_ERROR_TYPE = 'aborted';

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
  private connection: Connection | undefined;

  constructor(
    /** The SERVER span: this package's, or one `instrumentation-http` started (`owned` false). */
    readonly span: Span,
    /** The context the request runs in: the span's. */
    readonly context: Context,
    private readonly owned: boolean,
    private readonly spanNamePrefix: string,
    /** The adapter's request (Express or Fastify), which knows the matched route. */
    private readonly adapterRequest: object,
    /** The adapter's response: Fastify's reply holds the headers it writes in one go. */
    private readonly adapterResponse: object,
    private readonly request: HttpRequest,
    private readonly response: RawResponse,
    private readonly options: ResolvedHttpTracingOptions,
  ) {}

  /**
   * Also ends the trace when the request's HTTP/1.1 connection closes: a pipelined
   * response still queued behind another one gets no `close` of its own then. One
   * listener per connection, however many requests it carries.
   */
  watchConnection(connection: Socket): void {
    const watched = connection as Connection;
    let open = watched[OPEN_TRACES];
    if (open === undefined) {
      open = new Set();
      watched[OPEN_TRACES] = open;
      watched.once('close', endOpenTraces);
    }
    open.add(this);
    this.connection = watched;
  }

  /**
   * Marks the request as reaching `controller.handler` and names the span from the
   * matched route. Returns `false` when a handler was already entered (a request
   * Nest hands to a second route).
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

  /** The `close` listener of the request's response: ends the trace (`close` is emitted once). */
  readonly onResponseClose = (): void => this.end();

  /**
   * Records the first exception Nest handles for the request once it reached its
   * route (a guard's, an interceptor's, a pipe's or the handler's). One thrown before
   * (a middleware's, the not-found handler's, a body parser's) is left to the status
   * code: most are client errors, and an unknown route is no exception.
   */
  recordError(error: unknown): void {
    if (this.failed || !this.handled) {
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
    this.connection?.[OPEN_TRACES]?.delete(this);
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
    // Express keeps `req.route` of a route that passed the request on (e.g. to look
    // for another version), so a 404 no handler answered matched no route.
    const route =
      !this.handled && this.response.headersSent && this.response.statusCode === 404
        ? undefined
        : matchedRoute(this.adapterRequest);
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
        const value = this.responseHeader(name);
        if (value !== undefined) {
          span.setAttribute(attribute, Array.isArray(value) ? value : [String(value)]);
        }
      }
    }
    // The client left before the whole answer reached it; `incomplete`: even before
    // it had sent its whole request. (A request answered without reading its body is
    // not aborted: its response finished.)
    const aborted = !response.writableFinished;
    const incomplete = aborted && !this.request.complete;
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

  /**
   * A header of the response as sent. Fastify hands its reply's headers straight to
   * `writeHead()`, where Node does not keep them: they are read from the reply.
   */
  private responseHeader(name: string): number | string | string[] | undefined {
    const getHeader = (this.adapterResponse as { getHeader?: unknown }).getHeader;
    return this.adapterResponse !== this.response && typeof getHeader === 'function'
      ? (getHeader.call(this.adapterResponse, name) as number | string | string[] | undefined)
      : this.response.getHeader(name);
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

/** The `close` listener of an HTTP/1.1 connection with traced requests. */
function endOpenTraces(this: Connection): void {
  const open = this[OPEN_TRACES];
  if (open !== undefined) {
    for (const requestTrace of [...open]) {
      requestTrace.end();
    }
  }
}

/** Node's request under an adapter's request: Express extends it, Fastify wraps it. */
export function rawRequest(adapterRequest: object): HttpRequest | undefined {
  if (adapterRequest instanceof IncomingMessage || adapterRequest instanceof Http2ServerRequest) {
    return adapterRequest;
  }
  const raw = (adapterRequest as { raw?: unknown }).raw;
  return raw instanceof IncomingMessage || raw instanceof Http2ServerRequest ? raw : undefined;
}

export function rawResponse(adapterResponse: object): RawResponse | undefined {
  if (adapterResponse instanceof ServerResponse || adapterResponse instanceof Http2ServerResponse) {
    return adapterResponse;
  }
  const raw = (adapterResponse as { raw?: unknown }).raw;
  return raw instanceof ServerResponse || raw instanceof Http2ServerResponse ? raw : undefined;
}
