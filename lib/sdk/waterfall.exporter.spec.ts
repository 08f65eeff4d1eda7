import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { renderWaterfall } from './render-waterfall';
import { WaterfallSpanExporter } from './waterfall.exporter';

/** Finished spans of one trace: a root with two children, the second failed. */
function sampleTrace() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'gateway' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('test');
  const t0 = Date.now();
  const root = tracer.startSpan('GET /orders/:id', { startTime: t0 });
  const context = trace.setSpan(ROOT_CONTEXT, root);
  const first = tracer.startSpan('send orders.get', { startTime: t0 + 10 }, context);
  first.end(t0 + 30);
  const second = tracer.startSpan('OrdersStore.find', { startTime: t0 + 30 }, context);
  second.setStatus({ code: SpanStatusCode.ERROR, message: 'no stock' });
  second.end(t0 + 40);
  root.end(t0 + 40);
  return exporter.getFinishedSpans();
}

describe('renderWaterfall', () => {
  it('draws the tree with a bar placed and sized by time, the service, duration and status', () => {
    const lines = renderWaterfall(sampleTrace(), { colors: false, barWidth: 20 }).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32} {2}40\.0 ms$/);
    expect(lines[1]).toBe(`GET /orders/:id     gateway  ${'█'.repeat(20)}    40.0 ms`);
    expect(lines[2]).toBe(`  send orders.get   gateway       ${'█'.repeat(10)}         20.0 ms`);
    expect(lines[3]).toBe(`  OrdersStore.find  gateway                 ${'█'.repeat(5)}    10.0 ms  ERROR no stock`);
  });

  it('colours only when asked', () => {
    expect(renderWaterfall(sampleTrace(), { colors: true, barWidth: 10 })).toContain('\u001b[31m');
    expect(renderWaterfall(sampleTrace(), { colors: false, barWidth: 10 })).not.toContain('\u001b[');
  });
});

describe('WaterfallSpanExporter', () => {
  it('prints a trace once its root has ended and the grace period is over, and what is left on shutdown', async () => {
    const printed: string[] = [];
    const exporter = new WaterfallSpanExporter({
      write: (text) => printed.push(text),
      colors: false,
      gracePeriodMs: 10,
    });
    const spans = sampleTrace();
    exporter.export(spans.slice(0, 2), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 80));
    // No root yet: it waits five grace periods after the last span.
    expect(printed).toHaveLength(1);
    expect(printed[0]).not.toContain('GET /orders/:id');
    exporter.export([spans[2]], () => undefined);
    await exporter.shutdown();
    expect(printed).toHaveLength(2);
    expect(printed[1]).toContain('GET /orders/:id');
  });
});

describe('WaterfallSpanExporter at exit', () => {
  it('prints what is pending when the process is about to end on its own, and stops listening on shutdown', async () => {
    const printed: string[] = [];
    const before = process.listenerCount('beforeExit');
    const exporter = new WaterfallSpanExporter({
      write: (text) => printed.push(text),
      colors: false,
      gracePeriodMs: 60_000,
    });
    expect(process.listenerCount('beforeExit')).toBe(before + 1);
    exporter.export(sampleTrace(), () => undefined);
    process.emit('beforeExit', 0);
    expect(printed).toHaveLength(1);
    await exporter.shutdown();
    expect(process.listenerCount('beforeExit')).toBe(before);
  });

  it('drops a trace it cannot draw instead of throwing from its timer', async () => {
    const exporter = new WaterfallSpanExporter({
      write: () => {
        throw new Error('stdout is gone');
      },
      colors: false,
    });
    exporter.export(sampleTrace(), () => undefined);
    await expect(exporter.shutdown()).resolves.toBeUndefined();
  });
});
