import { propagation, SpanKind } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { ADAPTERS, startHttpApp, type RunningApp } from './http-apps';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

const tracing = setupTestTracing();
// The app's choice of propagators, in place of the W3C ones the testing kit registers.
propagation.disable();
propagation.setGlobalPropagator(
  new CompositePropagator({
    propagators: [
      new W3CTraceContextPropagator(),
      new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
      new JaegerPropagator(),
    ],
  }),
);
afterAll(() => tracing.shutdown());

describe.each(ADAPTERS)('propagators registered by the app, on %s', (adapter) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startHttpApp(adapter);
  });
  afterEach(() => tracing.reset());
  afterAll(() => running.app.close());

  it.each([
    ['B3 single header', { b3: `${TRACE_ID}-${PARENT_ID}-1` }],
    ['B3 multi headers', { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': PARENT_ID, 'x-b3-sampled': '1' }],
    ['Jaeger', { 'uber-trace-id': `${TRACE_ID}:${PARENT_ID}:0:1` }],
    ['W3C', { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }],
  ])('joins a %s caller', async (_format, headers) => {
    const response = await fetch(`${running.url}/users/1`, { headers });
    expect(response.status).toBe(200);
    const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext).toMatchObject({ spanId: PARENT_ID, isRemote: true });
    tracing.expectSpan('UsersService.findOne', { parent: span });
  });
});
