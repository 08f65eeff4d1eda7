import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { ADAPTERS, startHttpApp, type RunningApp } from './http-apps';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

const tracing = setupTestTracing();
// Enabled before any app starts, as an app's OpenTelemetry bootstrap does.
const instrumentation = new HttpInstrumentation();
// Neither Jest's module loader nor an ES module's `import` goes through
// require-in-the-middle, through which the instrumentation patches `http` when Node
// loads it; apply that same patch here (it wraps `http.Server.prototype.emit`, so
// servers created by modules loaded earlier are covered too).
for (const definition of instrumentation.getModuleDefinitions()) {
  if (definition.name === 'http') {
    definition.patch?.(process.getBuiltinModule('node:http'));
  }
}

afterAll(async () => {
  instrumentation.disable();
  // `disable()` undoes the patches it applied through require-in-the-middle; undo ours
  // if it did not (the shimmer marks a wrapped function `__wrapped`).
  const http = process.getBuiltinModule('node:http');
  if ((http.request as { __wrapped?: boolean }).__wrapped === true) {
    for (const definition of instrumentation.getModuleDefinitions()) {
      if (definition.name === 'http') {
        definition.unpatch?.(http);
      }
    }
  }
  await tracing.shutdown();
});

describe.each(ADAPTERS)('with @opentelemetry/instrumentation-http, on %s', (adapter) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startHttpApp(adapter);
  });
  afterEach(() => tracing.reset());
  afterAll(() => running.app.close());

  const serverSpans = () => tracing.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER);

  it('adopts its SERVER span: one span, named by the route, with the Nest attributes', async () => {
    const response = await fetch(`${running.url}/users/42`, {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
    });
    const body = (await response.json()) as { spanId: string };
    await tracing.waitForSpans((span) => span.kind === SpanKind.SERVER);
    expect(serverSpans()).toHaveLength(1);
    const span = tracing.expectSpan('GET /api/users/:id', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.route': '/api/users/:id',
        'nestjs.controller': 'UsersController',
        'nestjs.handler': 'find',
        'http.response.status_code': 200,
      },
    });
    expect(span.instrumentationScope.name).toBe('@opentelemetry/instrumentation-http');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(body.spanId).toBe(span.spanContext().spanId);
    expect(response.headers.get('traceresponse')).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
    tracing.expectSpan('UsersService.findOne', { parent: span });
  });

  it('still names a guard rejection by its route, without ERROR', async () => {
    expect((await fetch(`${running.url}/users/42`, { headers: { 'x-deny': '1' } })).status).toBe(403);
    await tracing.waitForSpans((span) => span.kind === SpanKind.SERVER);
    expect(serverSpans()).toHaveLength(1);
    tracing.expectSpan('GET /api/users/:id', { status: SpanStatusCode.UNSET });
  });

  it('records a handler exception once on a 500', async () => {
    expect((await fetch(`${running.url}/users/42/fail`)).status).toBe(500);
    await tracing.waitForSpans((span) => span.kind === SpanKind.SERVER);
    const span = tracing.expectSpan('GET /api/users/:id/fail', { status: SpanStatusCode.ERROR });
    expect(span.events.filter((event) => event.name === 'exception')).toHaveLength(1);
  });
});
