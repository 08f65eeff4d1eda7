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
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ResolvedHttpTracingOptions } from './http-tracing.options';
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
export function requestTarget(request: IncomingMessage): RequestTarget {
  const original = request.method ?? 'GET';
  const known = KNOWN_METHODS.has(original);
  const url = request.url ?? '/';
  const question = url.indexOf('?');
  return {
    method: known ? original : HTTP_REQUEST_METHOD_VALUE_OTHER,
    spanNamePrefix: known ? original : UNKNOWN_METHOD_NAME,
    path: question === -1 ? url : url.slice(0, question),
    query: question === -1 ? undefined : url.slice(question + 1),
  };
}

/**
 * The attributes of a request's SERVER span that are known when it starts, by the
 * stable HTTP semantic conventions.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
 */
export function requestAttributes(
  request: IncomingMessage,
  target: RequestTarget,
  options: ResolvedHttpTracingOptions,
): Attributes {
  const encrypted = (request.socket as Partial<TLSSocket> | null)?.encrypted === true;
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: target.method,
    [ATTR_URL_PATH]: target.path,
    [ATTR_URL_SCHEME]: encrypted ? 'https' : 'http',
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.httpVersion,
  };
  if (target.method === HTTP_REQUEST_METHOD_VALUE_OTHER) {
    attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = request.method;
  }
  if (target.query !== undefined) {
    attributes[ATTR_URL_QUERY] = redactQuery(target.query, options.redactQueryParams);
  }
  const headers = request.headers;
  const host = headers.host ?? headerValue(headers[':authority']);
  if (host !== undefined) {
    const [address, port] = splitHost(host);
    attributes[ATTR_SERVER_ADDRESS] = address;
    attributes[ATTR_SERVER_PORT] = port ?? (encrypted ? 443 : 80);
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

/** The first address of an `X-Forwarded-For` header: the client, as the proxies saw it. */
function forwardedFor(value: string | string[] | undefined): string | undefined {
  const first = headerValue(value)?.split(',', 1)[0].trim();
  return first === '' ? undefined : first;
}

/** `example.com:8080` → `['example.com', 8080]`; `[::1]:3000` → `['::1', 3000]`. */
function splitHost(host: string): [address: string, port: number | undefined] {
  const closingBracket = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.indexOf(':', closingBracket === -1 ? 0 : closingBracket);
  const address = closingBracket === -1 ? (colon === -1 ? host : host.slice(0, colon)) : host.slice(1, closingBracket);
  const port = colon === -1 ? undefined : Number(host.slice(colon + 1));
  return [address, port !== undefined && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined];
}
