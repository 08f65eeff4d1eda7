import type { Span } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_HEADER, ATTR_HTTP_RESPONSE_HEADER } from '@opentelemetry/semantic-conventions';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { BOOLEAN_CHECK, FUNCTION_CHECK, ignoreCheck, rulesMatcher, TRUST_CHECK, type OptionCheck } from '../core';

/** The request hooks and predicates get: Node's request, HTTP/1.1 or HTTP/2, on Express and Fastify alike. */
export type HttpRequest = IncomingMessage | Http2ServerRequest;

/** A path to leave untraced: a string matches `url.path` exactly, a RegExp is tested on it. */
export type HttpIgnoreRule = string | RegExp;

/** Options of HTTP server tracing, under `http` in `TracingModule.forRoot()`. */
export interface HttpTracingOptions {
  /**
   * Whether every HTTP request gets a SERVER span.
   * Default: `true`.
   */
  enabled?: boolean;
  /**
   * Requests to leave untraced: paths (`'/health'` matches that path exactly, a RegExp
   * is tested on the path without the query string) or a predicate on the request.
   * An ignored request gets no span, and nothing it calls is traced either.
   * Default: nothing is ignored.
   *
   * @example ignore: ['/health', /^\/metrics/]
   */
  ignore?: HttpIgnoreRule[] | ((request: HttpRequest) => boolean);
  /**
   * Request headers to record, as `http.request.header.<name>` (an allow-list,
   * case-insensitive). `authorization`, `cookie`, `set-cookie` and
   * `proxy-authorization` are never recorded, whatever the list says.
   * Default: none.
   */
  requestHeaders?: string[];
  /**
   * Response headers to record, as `http.response.header.<name>`, with the same rules
   * as `requestHeaders`.
   * Default: none.
   */
  responseHeaders?: string[];
  /**
   * More query-string keys whose values are replaced by `REDACTED` in `url.query`
   * (case-insensitive), on top of the built-in list: keys containing `token`,
   * `password`, `passwd`, `secret`, `api_key`, `apikey` or `api-key`, and the keys `auth`,
   * `authorization`, `key`, `sig`, `signature`, `code`, `credential`,
   * `x-amz-signature`, `x-amz-credential`, `x-amz-security-token`, `x-goog-signature`,
   * `x-goog-credential`, `awsaccesskeyid`.
   * Default: none beyond the built-in list.
   */
  redactQueryParams?: string[];
  /**
   * Whether a request may join the trace its caller sent (`traceparent`, or whatever
   * the registered propagator reads). When not trusted, the request starts a new
   * trace whose span links to the caller's context, so a public endpoint cannot force
   * sampling or inject a parent; the caller's baggage is dropped too. A predicate
   * decides per request (e.g. on the client address or a gateway header).
   * Default: `true`.
   */
  trustIncomingContext?: boolean | ((request: HttpRequest) => boolean);
  /**
   * The response header that hands the request's trace context back to the caller,
   * in the W3C Trace Context Level 2 `traceresponse` format
   * (`00-{trace-id}-{span-id}-{flags}`), so a client can quote its request id.
   * A string renames the header; `false` sends none. A browser reads it only if CORS
   * lists it in `exposedHeaders`.
   * Default: `'traceresponse'`.
   *
   * @see https://www.w3.org/TR/trace-context-2/#traceresponse-header
   */
  responseHeader?: string | false;
  /**
   * Names the span of a request, once its route is known. Returning `undefined` (or
   * throwing, which is logged once) keeps the default name, `{method} {route}`.
   * Default: none.
   */
  spanNameHook?: (request: HttpRequest, route: string | undefined) => string | undefined;
  /**
   * Called when the span of a request starts, to add attributes from the request. A
   * throw is logged once and ignored.
   * Default: none.
   */
  requestHook?: (span: Span, request: HttpRequest) => void;
}

/** @internal The HTTP options with every default filled in and every list prepared. */
export interface ResolvedHttpTracingOptions {
  readonly enabled: boolean;
  readonly ignore: ((path: string, request: HttpRequest) => boolean) | undefined;
  /** `[header name, attribute key]` pairs. */
  readonly requestHeaders: readonly (readonly [string, string])[];
  readonly responseHeaders: readonly (readonly [string, string])[];
  readonly redactQueryParams: ReadonlySet<string>;
  readonly trustIncomingContext: boolean | ((request: HttpRequest) => boolean);
  readonly responseHeader: string | undefined;
  readonly spanNameHook: HttpTracingOptions['spanNameHook'];
  readonly requestHook: HttpTracingOptions['requestHook'];
}

/** Headers that carry credentials; never recorded. */
const NEVER_RECORDED_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'proxy-authorization',
]);

/** The default of `responseHeader`. */
const TRACE_RESPONSE_HEADER = 'traceresponse';

/** What makes a string a header name (an RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The checks `resolveTracingOptions` runs on each `http` option: what is allowed, and whether a value is. */
export const HTTP_OPTION_CHECKS: Readonly<Record<keyof HttpTracingOptions, OptionCheck>> = {
  enabled: BOOLEAN_CHECK,
  ignore: ignoreCheck('paths'),
  requestHeaders: ['an array of header names', isHeaderNameList],
  responseHeaders: ['an array of header names', isHeaderNameList],
  redactQueryParams: [
    'an array of query-string keys',
    (value) => Array.isArray(value) && value.every((key) => typeof key === 'string'),
  ],
  trustIncomingContext: TRUST_CHECK,
  responseHeader: ['a header name or false', (value) => value === false || isHeaderName(value)],
  spanNameHook: FUNCTION_CHECK,
  requestHook: FUNCTION_CHECK,
};

/** @internal Fills in the defaults of options that `HTTP_OPTION_CHECKS` passed. */
export function resolveHttpOptions(given: HttpTracingOptions = {}): ResolvedHttpTracingOptions {
  return {
    enabled: given.enabled ?? true,
    ignore: ignoreMatcher(given.ignore),
    requestHeaders: headerAttributes(given.requestHeaders, ATTR_HTTP_REQUEST_HEADER),
    responseHeaders: headerAttributes(given.responseHeaders, ATTR_HTTP_RESPONSE_HEADER),
    redactQueryParams: new Set((given.redactQueryParams ?? []).map((key) => key.toLowerCase())),
    trustIncomingContext: given.trustIncomingContext ?? true,
    responseHeader: given.responseHeader === false ? undefined : (given.responseHeader ?? TRACE_RESPONSE_HEADER),
    spanNameHook: given.spanNameHook,
    requestHook: given.requestHook,
  };
}

function isHeaderName(value: unknown): value is string {
  return typeof value === 'string' && HEADER_NAME.test(value);
}

function isHeaderNameList(value: unknown): boolean {
  return Array.isArray(value) && value.every(isHeaderName);
}

function headerAttributes(
  names: readonly string[] | undefined,
  attributeOf: (name: string) => string,
): (readonly [string, string])[] {
  const lowerCased = new Set((names ?? []).map((name) => name.toLowerCase()));
  return [...lowerCased].filter((name) => !NEVER_RECORDED_HEADERS.has(name)).map((name) => [name, attributeOf(name)]);
}

function ignoreMatcher(
  ignore: HttpTracingOptions['ignore'],
): ((path: string, request: HttpRequest) => boolean) | undefined {
  if (typeof ignore === 'function') {
    return (_path, request) => ignore(request);
  }
  return rulesMatcher(ignore ?? []);
}
