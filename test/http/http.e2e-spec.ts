import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { seen } from './app.module';
import { ADAPTERS, startHttpApp, type RunningApp } from './http-apps';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

const tracing = setupTestTracing();
afterAll(() => tracing.shutdown());

describe.each(ADAPTERS)('HTTP server spans on %s', (adapter) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startHttpApp(adapter);
  });
  afterEach(() => tracing.reset());
  afterAll(() => running.app.close());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${running.url}${path}`, { headers });
  const serverSpans = () => tracing.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER);
  /** Waits for the one SERVER span (it ends on the response's `close`, just after the client has the body). */
  const serverSpan = async (): Promise<ReadableSpan> => {
    await tracing.waitForSpans((span) => span.kind === SpanKind.SERVER);
    const spans = serverSpans();
    expect(spans).toHaveLength(1);
    return spans[0];
  };

  it('makes one SERVER span per request, named by the route, parent of the work it does', async () => {
    const response = await get('/users/42', { 'x-test-id': `${adapter}-get`, 'user-agent': 'e2e/1.0' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { spanId: string; activeSpanId: string; traceId: string };
    const span = await serverSpan();
    expect(span.name).toBe('GET /api/users/:id');
    const port = Number(new URL(running.url).port);
    tracing.expectSpan('GET /api/users/:id', {
      kind: SpanKind.SERVER,
      status: SpanStatusCode.UNSET,
      parent: null,
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/api/users/:id',
        'http.response.status_code': 200,
        'url.path': '/api/users/42',
        'url.scheme': 'http',
        'server.address': '127.0.0.1',
        'server.port': port,
        'client.address': '127.0.0.1',
        'user_agent.original': 'e2e/1.0',
        'network.protocol.version': '1.1',
        'nestjs.controller': 'UsersController',
        'nestjs.handler': 'find',
      },
    });
    expect(span.attributes['error.type']).toBeUndefined();
    expect(body.spanId).toBe(span.spanContext().spanId);
    expect(body.activeSpanId).toBe(span.spanContext().spanId);
    expect(body.traceId).toBe(span.spanContext().traceId);
    expect(seen.get(`${adapter}-get`)).toEqual({
      middleware: span.spanContext().spanId,
      guard: span.spanContext().spanId,
    });
    tracing.expectSpan('UsersService.findOne', { parent: span });
    expect(tracing.getFinishedSpans()).toHaveLength(2);
  });

  it('covers middleware, guards and the handler of a POST with a body', async () => {
    const response = await fetch(`${running.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-id': `${adapter}-post` },
      body: JSON.stringify({ name: 'ada' }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { handlerSpanId: string };
    const span = await serverSpan();
    expect(span.name).toBe('POST /api/users');
    expect(body.handlerSpanId).toBe(span.spanContext().spanId);
    expect(seen.get(`${adapter}-post`)).toEqual({
      middleware: span.spanContext().spanId,
      guard: span.spanContext().spanId,
    });
  });

  it('names a versioned route with its prefix, version and params', async () => {
    const response = await get('/v1/orders/7/items/9');
    expect(response.status).toBe(200);
    await serverSpan();
    tracing.expectSpan('GET /api/v1/orders/:orderId/items/:itemId', {
      attributes: { 'http.route': '/api/v1/orders/:orderId/items/:itemId', 'nestjs.controller': 'OrdersController' },
    });
  });

  it('names a route of a nested module mounted by RouterModule', async () => {
    expect((await get('/admin/reports/3')).status).toBe(200);
    await serverSpan();
    tracing.expectSpan('GET /api/admin/reports/:reportId', {
      attributes: { 'nestjs.controller': 'ReportsController', 'nestjs.handler': 'get' },
    });
  });

  it('redacts secrets in the query string', async () => {
    await get('/v1/orders/7/items/9?token=abc&page=2&X-Amz-Signature=s3cr3t&access_token=t');
    const span = await serverSpan();
    expect(span.attributes['url.query']).toBe('token=REDACTED&page=2&X-Amz-Signature=REDACTED&access_token=REDACTED');
  });

  it('gives a request a guard rejects its span, 403 without ERROR, with the exception', async () => {
    const response = await get('/users/42', { 'x-deny': '1' });
    expect(response.status).toBe(403);
    const span = await serverSpan();
    tracing.expectSpan('GET /api/users/:id', {
      status: SpanStatusCode.UNSET,
      attributes: { 'http.response.status_code': 403, 'error.type': 'ForbiddenException' },
    });
    expect(span.events.filter((event) => event.name === 'exception')).toHaveLength(1);
  });

  it('gives a request a pipe rejects its span, 400 without ERROR', async () => {
    expect((await get('/users/abc/number')).status).toBe(400);
    const span = await serverSpan();
    tracing.expectSpan('GET /api/users/:id/number', {
      status: SpanStatusCode.UNSET,
      attributes: { 'http.response.status_code': 400, 'error.type': 'BadRequestException' },
    });
    expect(span.events.filter((event) => event.name === 'exception')).toHaveLength(1);
  });

  it('names an unknown route by its method alone, 404 without ERROR', async () => {
    const response = await get('/nowhere/42');
    expect(response.status).toBe(404);
    const span = await serverSpan();
    expect(span.name).toBe('GET');
    expect(span.attributes['http.route']).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes['error.type']).toBe('404');
    expect(span.attributes['url.path']).toBe('/api/nowhere/42');
  });

  it('records a thrown error once and marks the 500 ERROR', async () => {
    const response = await get('/users/42/fail');
    expect(response.status).toBe(500);
    const span = await serverSpan();
    tracing.expectSpan('GET /api/users/:id/fail', {
      status: SpanStatusCode.ERROR,
      attributes: { 'http.response.status_code': 500, 'error.type': 'Error' },
    });
    expect(span.status.message).toBe('database is down');
    expect(span.events.filter((event) => event.name === 'exception')).toHaveLength(1);
    expect(span.events[0].attributes?.['exception.message']).toBe('database is down');
  });

  it('records a 4xx HttpException with its class as error.type, without ERROR', async () => {
    const response = await get('/users/42/gone');
    expect(response.status).toBe(404);
    const span = await serverSpan();
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes['error.type']).toBe('NotFoundException');
    expect(span.events.filter((event) => event.name === 'exception')).toHaveLength(1);
  });

  it('marks a 5xx HttpException ERROR', async () => {
    expect((await get('/users/42/unavailable')).status).toBe(500);
    const span = await serverSpan();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'try later' });
    expect(span.attributes['error.type']).toBe('InternalServerErrorException');
  });

  it('joins the trace of an incoming traceparent and hands it back in traceresponse', async () => {
    const response = await get('/users/1', { traceparent: TRACEPARENT });
    expect(response.status).toBe(200);
    const span = await serverSpan();
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span.parentSpanContext?.isRemote).toBe(true);
    expect(response.headers.get('traceresponse')).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
  });

  it('starts a new trace for a malformed traceparent, and answers as usual', async () => {
    const response = await get('/users/1', { traceparent: '00-zz-nothex-01' });
    expect(response.status).toBe(200);
    const span = await serverSpan();
    expect(span.parentSpanContext).toBeUndefined();
    expect(response.headers.get('traceresponse')).toBe(
      `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
    );
  });

  it('ends the span of an SSE stream when the client disconnects', async () => {
    const controller = new AbortController();
    const response = await fetch(`${running.url}/stream/events`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    await reader.read();
    expect(serverSpans()).toHaveLength(0);
    controller.abort();
    const span = await serverSpan();
    expect(span.name).toBe('GET /api/stream/events');
    tracing.expectSpan('GET /api/stream/events', {
      status: SpanStatusCode.UNSET,
      attributes: { 'http.response.status_code': 200, 'error.type': 'aborted' },
    });
  });

  it('ends the span of a StreamableFile once the file is sent', async () => {
    const response = await get('/stream/file');
    expect(await response.text()).toBe('abc');
    const span = await serverSpan();
    expect(span.name).toBe('GET /api/stream/file');
    expect(span.attributes['error.type']).toBeUndefined();
  });

  it('ends the span of a request the client aborts before the answer, ERROR with error.type aborted', async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${running.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '100' },
      });
      req.on('error', () => resolve());
      req.write('{"name":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    const span = await serverSpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('aborted');
  });

  it('ends the span of a request answered without reading its large body, without aborted', async () => {
    const response = await fetch(`${running.url}/users/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(3_000_000),
    });
    // Express runs the handler, which ignores the body; Fastify refuses the content type.
    const [status, errorType] = adapter === 'express' ? [201, undefined] : [415, '415'];
    expect(response.status).toBe(status);
    await response.arrayBuffer();
    const span = await serverSpan();
    expect(span.name).toBe('POST /api/users/upload');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes['error.type']).toBe(errorType);
  });

  it('ends the spans of pipelined requests when the client closes the connection', async () => {
    const { hostname, port } = new URL(running.url);
    const socket = connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.resume();
    // The second request waits behind the endless SSE stream, so its response never
    // gets a socket of its own to close.
    socket.write(
      `GET /api/stream/events HTTP/1.1\r\nHost: ${hostname}\r\n\r\n` +
        `GET /api/users/1 HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`,
    );
    await tracing.waitForSpans('UsersService.findOne');
    socket.destroy();
    const spans = await tracing.waitForSpans((span) => span.kind === SpanKind.SERVER, 2);
    expect(spans.map((span) => span.name).sort()).toEqual(['GET /api/stream/events', 'GET /api/users/:id']);
    expect(spans.map((span) => span.attributes['error.type'])).toEqual(['aborted', 'aborted']);
  });

  it('serves a REQUEST-scoped provider inside the span', async () => {
    const response = await get('/scoped', { 'user-agent': 'scoped/1' });
    expect(await response.json()).toEqual({ userAgent: 'scoped/1', recording: true });
    const span = await serverSpan();
    expect(span.name).toBe('GET /api/scoped');
  });

  it('never records authorization or cookies', async () => {
    await get('/users/1', { authorization: 'Bearer secret-token', cookie: 'session=secret' });
    const span = await serverSpan();
    expect(JSON.stringify(span.attributes)).not.toContain('secret');
  });
});

describe.each(ADAPTERS)('HTTP server spans on %s without the adapter request hook', (adapter) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startHttpApp(adapter, {}, { withoutRequestHook: true });
  });
  afterEach(() => tracing.reset());
  afterAll(() => running.app.close());

  it('starts the span in the interceptor instead, named by the route, active in the handler', async () => {
    const response = await fetch(`${running.url}/users/42`, { headers: { traceparent: TRACEPARENT } });
    const body = (await response.json()) as { spanId: string };
    const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
    tracing.expectSpan('GET /api/users/:id', {
      kind: SpanKind.SERVER,
      attributes: { 'http.response.status_code': 200, 'nestjs.handler': 'find' },
    });
    expect(span.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(body.spanId).toBe(span.spanContext().spanId);
    tracing.expectSpan('UsersService.findOne', { parent: span });
  });
});
