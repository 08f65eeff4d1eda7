import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  HTTP_REQUEST_METHOD_VALUE_OTHER,
} from '@opentelemetry/semantic-conventions';
import type { TLSSocket } from 'node:tls';
import type { HttpRequest, ResolvedHttpTracingOptions } from './http-tracing.options';
import { redactQuery } from './query-redaction';

/** The methods the HTTP semantic conventions know; any other is `_OTHER`. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/** The longest `Host` header read: a DNS name has at most 253 characters, plus a port. */
const MAX_HOST_LENGTH = 261;

/** What a port in a `Host` header looks like. */
const PORT = /^\d{1,5}$/;

/** The longest `X-Forwarded-For` entry read as an address. */
const MAX_ADDRESS_LENGTH = 64;

/** The span name of a request whose method is not a known one. */
const UNKNOWN_METHOD_NAME = 'HTTP';

/** The parts of a request URL its span is named and described by. */
export interface RequestTarget {
  /** `http.request.method`: a known method, or `_OTHER`. */
  readonly method: string;
  /** The first word of the span name: the method, or `HTTP` for an unknown one. */
  readonly spanNamePrefix: string;
  readonly path: string;
  /** The query string without its `?`, or `undefined` when there is none. */
  readonly query: string | undefined;
}

/** Reads the method, path and query of a request. */
export function requestTarget(request: HttpRequest): RequestTarget {
  const original = request.method ?? 'GET';
  const known = KNOWN_METHODS.has(original);
  const url = request.url ?? '/';
  const question = url.indexOf('?');
  const end = question === -1 ? url.length : question;
  return {
    method: known ? original : HTTP_REQUEST_METHOD_VALUE_OTHER,
    spanNamePrefix: known ? original : UNKNOWN_METHOD_NAME,
    path: url.slice(pathStart(url, end), end) || '/',
    query: question === -1 ? undefined : url.slice(question + 1),
  };
}

/**
 * Where the path starts: at 0 for the usual `/users/1` (and `*`), after the authority
 * for the absolute form a client may send (`http://host:80/users/1`).
 */
function pathStart(url: string, end: number): number {
  if (url.startsWith('/')) {
    return 0;
  }
  const scheme = url.indexOf('://');
  if (scheme === -1 || scheme > end) {
    return 0;
  }
  const slash = url.indexOf('/', scheme + 3);
  return slash === -1 || slash > end ? end : slash;
}

/**
 * The attributes of a request's SERVER span that are known when it starts, by the
 * stable HTTP semantic conventions.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
 */
export function requestAttributes(
  request: HttpRequest,
  target: RequestTarget,
  options: ResolvedHttpTracingOptions,
): Attributes {
  const encrypted = (request.socket as Partial<TLSSocket> | null)?.encrypted === true;
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: target.method,
    [ATTR_URL_PATH]: target.path,
    [ATTR_URL_SCHEME]: encrypted ? 'https' : 'http',
    // `2.0` is how Node spells HTTP/2; the conventions want `2`.
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.httpVersion === '2.0' ? '2' : request.httpVersion,
  };
  if (target.method === HTTP_REQUEST_METHOD_VALUE_OTHER) {
    attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = request.method;
  }
  if (target.query !== undefined) {
    attributes[ATTR_URL_QUERY] = redactQuery(target.query, options.redactQueryParams);
  }
  const headers = request.headers;
  const host = headers.host ?? headerValue(headers[':authority']);
  if (host !== undefined && host.length <= MAX_HOST_LENGTH) {
    describeHost(attributes, host, encrypted ? 443 : 80);
  }
  const clientAddress = forwardedFor(headers['x-forwarded-for']) ?? request.socket?.remoteAddress;
  if (clientAddress !== undefined) {
    attributes[ATTR_CLIENT_ADDRESS] = clientAddress;
  }
  const userAgent = headers['user-agent'];
  if (userAgent !== undefined) {
    attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent;
  }
  for (const [name, attribute] of options.requestHeaders) {
    const value = headers[name];
    if (value !== undefined) {
      attributes[attribute] = Array.isArray(value) ? value : [value];
    }
  }
  return attributes;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The first address of an `X-Forwarded-For` header: the client, as the proxies saw
 * it. Anything longer than an IPv6 address with a zone is not an address.
 */
function forwardedFor(value: string | string[] | undefined): string | undefined {
  const first = headerValue(value)?.split(',', 1)[0].trim();
  return first === undefined || first === '' || first.length > MAX_ADDRESS_LENGTH ? undefined : first;
}

/**
 * Sets `server.address` and `server.port` from a `Host` header: `example.com:8080`,
 * `[::1]:3000`, or `example.com` (the scheme's default port). A port that is not one,
 * or an unclosed IPv6 bracket, leaves out what cannot be trusted.
 */
function describeHost(attributes: Attributes, host: string, defaultPort: number): void {
  let address: string;
  let portText: string | undefined;
  if (host.startsWith('[')) {
    const closing = host.indexOf(']');
    if (closing === -1) {
      return;
    }
    address = host.slice(1, closing);
    const rest = host.slice(closing + 1);
    if (rest !== '' && !rest.startsWith(':')) {
      return;
    }
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = host.indexOf(':');
    address = colon === -1 ? host : host.slice(0, colon);
    portText = colon === -1 ? undefined : host.slice(colon + 1);
  }
  if (address === '') {
    return;
  }
  attributes[ATTR_SERVER_ADDRESS] = address;
  const port = portText === undefined ? defaultPort : Number(portText);
  if (portText === undefined || (PORT.test(portText) && port > 0 && port < 65536)) {
    attributes[ATTR_SERVER_PORT] = port;
  }
}
