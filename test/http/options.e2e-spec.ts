import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { TracingModuleOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { ADAPTERS, startHttpApp, type RunningApp } from './http-apps';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

const tracing = setupTestTracing();
afterAll(() => tracing.shutdown());

describe.each(ADAPTERS)('HTTP options on %s', (adapter) => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.app.close();
    running = undefined;
    tracing.reset();
  });

  /** Starts the app with `options`, sends one GET and returns the response and the SERVER span. */
  async function request(
    options: TracingModuleOptions,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ response: Response; span: ReadableSpan }> {
    running = await startHttpApp(adapter, options);
    const response = await fetch(`${running.url}${path}`, { headers });
    await response.arrayBuffer();
    const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
    return { response, span };
  }

  /** Sends a GET to the running app and waits long enough for any SERVER span to have ended. */
  async function requestUntraced(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ response: Response; body: string }> {
    const response = await fetch(`${running!.url}${path}`, { headers });
    const body = await response.text();
    // A traced request would have ended its span by the time a second request is answered.
    await (await fetch(`${running!.url}/users/0`)).arrayBuffer();
    await tracing.waitForSpans('GET /api/users/:id');
    return { response, body };
  }

  describe('ignore', () => {
    it('leaves ignored paths untraced, with everything they call, and traces the rest', async () => {
      running = await startHttpApp(adapter, { http: { ignore: ['/api/health', /^\/api\/v1\//] } });
      const health = await requestUntraced('/health');
      expect(JSON.parse(health.body)).toEqual({ ok: true });
      expect(health.response.headers.get('traceresponse')).toBeNull();
      expect((await requestUntraced('/v1/orders/1/items/2')).response.status).toBe(200);
      const names = tracing.getFinishedSpans().map((span) => span.name);
      expect(names.filter((name) => name !== 'GET /api/users/:id' && name !== 'UsersService.findOne')).toEqual([]);
      // One provider span per traced `/users/0` request: the ignored `/health` made none.
      expect(names.filter((name) => name === 'UsersService.findOne')).toHaveLength(2);
    });

    it('asks a predicate about each request', async () => {
      running = await startHttpApp(adapter, {
        http: { ignore: (incoming) => incoming.headers['x-synthetic'] === 'yes' },
      });
      await requestUntraced('/health', { 'x-synthetic': 'yes' });
      expect(tracing.findSpan('GET /api/health')).toBeUndefined();
      tracing.reset();
      await requestUntraced('/health');
      await tracing.waitForSpans('GET /api/health');
    });
  });

  describe('trustIncomingContext', () => {
    it('false: starts a new trace that links to the caller, even when the caller did not sample', async () => {
      const { span } = await request({ http: { trustIncomingContext: false } }, '/users/1', {
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-00`,
      });
      expect(span.spanContext().traceId).not.toBe(TRACE_ID);
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.links).toHaveLength(1);
      expect(span.links[0].context).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_ID, isRemote: true });
      tracing.expectSpan('UsersService.findOne', { parent: span });
    });

    it('false: drops the caller baggage', async () => {
      const { span } = await request({ http: { trustIncomingContext: false } }, '/users/1', {
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
        baggage: 'tenant=evil',
      });
      expect(span.spanContext().traceId).not.toBe(TRACE_ID);
      expect(span.links).toHaveLength(1);
    });

    it('a predicate: joins only the callers it trusts', async () => {
      const options = {
        http: {
          trustIncomingContext: (incoming: { headers: Record<string, unknown> }) =>
            incoming.headers['x-internal'] === '1',
        },
      };
      const traceparent = `00-${TRACE_ID}-${PARENT_ID}-01`;
      const trusted = await request(options, '/users/1', { traceparent, 'x-internal': '1' });
      expect(trusted.span.spanContext().traceId).toBe(TRACE_ID);
      expect(trusted.span.links).toHaveLength(0);
      tracing.reset();
      await requestUntraced('/health', { traceparent });
      const [untrusted] = await tracing.waitForSpans('GET /api/health');
      expect(untrusted.spanContext().traceId).not.toBe(TRACE_ID);
    });

    it('with no valid caller context: a new trace and no link', async () => {
      const { span } = await request({ http: { trustIncomingContext: false } }, '/users/1', {
        traceparent: 'garbage',
      });
      expect(span.links).toHaveLength(0);
    });
  });

  describe('responseHeader', () => {
    it('renames the header', async () => {
      const { response, span } = await request({ http: { responseHeader: 'x-trace' } }, '/users/1');
      expect(response.headers.get('traceresponse')).toBeNull();
      expect(response.headers.get('x-trace')).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    });

    it('false: sends none', async () => {
      const { response } = await request({ http: { responseHeader: false } }, '/users/1');
      expect(response.headers.get('traceresponse')).toBeNull();
    });
  });

  describe('requestHeaders and responseHeaders', () => {
    it('records the allowed headers and never the credentials', async () => {
      const { span } = await request(
        {
          http: {
            requestHeaders: ['X-Request-Id', 'authorization', 'cookie', 'x-absent'],
            responseHeaders: ['content-type', 'set-cookie'],
          },
        },
        '/users/1',
        { 'x-request-id': 'req-1', authorization: 'Bearer s3cret', cookie: 'sid=s3cret' },
      );
      expect(span.attributes['http.request.header.x-request-id']).toEqual(['req-1']);
      expect(span.attributes['http.response.header.content-type']).toEqual([
        expect.stringContaining('application/json'),
      ]);
      expect(Object.keys(span.attributes).filter((key) => key.includes('header'))).toEqual([
        'http.request.header.x-request-id',
        'http.response.header.content-type',
      ]);
      expect(JSON.stringify([span.attributes, span.events])).not.toContain('s3cret');
    });
  });

  describe('redactQueryParams', () => {
    it('redacts the extra keys too', async () => {
      const { span } = await request({ http: { redactQueryParams: ['ssn'] } }, '/users/1?ssn=123&token=t&page=1');
      expect(span.attributes['url.query']).toBe('ssn=REDACTED&token=REDACTED&page=1');
    });
  });

  describe('spanNameHook and requestHook', () => {
    it('names the span and adds attributes from the request', async () => {
      const { span } = await request(
        {
          http: {
            spanNameHook: (incoming, route) =>
              `${incoming.method} ${route} for ${String(incoming.headers['x-tenant'])}`,
            requestHook: (started, incoming) => started.setAttribute('tenant', String(incoming.headers['x-tenant'])),
          },
        },
        '/users/1',
        { 'x-tenant': 'acme' },
      );
      expect(span.name).toBe('GET /api/users/:id for acme');
      expect(span.attributes.tenant).toBe('acme');
    });

    it('keeps the default name and answers as usual when the hooks throw', async () => {
      const { response, span } = await request(
        {
          http: {
            spanNameHook: () => {
              throw new Error('name hook failed');
            },
            requestHook: () => {
              throw new Error('request hook failed');
            },
            ignore: () => {
              throw new Error('ignore failed');
            },
            trustIncomingContext: () => {
              throw new Error('trust failed');
            },
          },
        },
        '/users/1',
        { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
      );
      expect(response.status).toBe(200);
      expect(span.name).toBe('GET /api/users/:id');
      // A trust predicate that throws does not trust.
      expect(span.spanContext().traceId).not.toBe(TRACE_ID);
    });
  });

  describe('enabled', () => {
    it('false: no SERVER span, and @Traced spans start their own traces', async () => {
      running = await startHttpApp(adapter, { http: { enabled: false } });
      const response = await fetch(`${running.url}/users/1`);
      expect(response.status).toBe(200);
      expect(response.headers.get('traceresponse')).toBeNull();
      const [provider] = await tracing.waitForSpans('UsersService.findOne');
      expect(provider.parentSpanContext).toBeUndefined();
      await (await fetch(`${running.url}/users/2`)).arrayBuffer();
      await tracing.waitForSpans('UsersService.findOne', 2);
      expect(tracing.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER)).toHaveLength(0);
    });
  });
});
