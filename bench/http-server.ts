// One HTTP server of the HTTP benchmark, in its own process: the variant named by
// BENCH_VARIANT sets up tracing before Nest loads, then serves GET /users/:id (the
// handler awaits a service) on 127.0.0.1:BENCH_PORT. It tells the driver when it is
// ready and, when asked, how many spans its exporter received.
import 'reflect-metadata';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startTracing } from 'nestjs-tracing/sdk';

export const VARIANTS = [
  'untraced',
  'untraced-fastify',
  'sdk-only',
  'als-floor',
  'instrumentation-http',
  'nestjs-tracing-express',
  'nestjs-tracing-fastify',
  'nestjs-tracing+instrumentation-http',
] as const;
export type Variant = (typeof VARIANTS)[number];

/** An exporter that counts the spans and drops them. */
class CountingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

async function main(): Promise<void> {
  const variant = process.env.BENCH_VARIANT as Variant;
  const exporter = new CountingExporter();
  const handle = variant.startsWith('untraced')
    ? undefined
    : startTracing({ exporter, sampler: 1, flushOnSignals: false });
  if (variant === 'instrumentation-http' || variant === 'nestjs-tracing+instrumentation-http') {
    // Enabled before `http` and Nest load, as an app's bootstrap does.
    const { HttpInstrumentation } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
    new HttpInstrumentation();
  }
  // Nest loads only now, after tracing.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createApp } = require('./http-app') as typeof import('./http-app');
  const app = await createApp(variant);
  if (variant === 'als-floor') {
    // The floor for any tracing that propagates context: one context entered per request, no span.
    const key = createContextKey('bench request');
    (app as unknown as { use(fn: (req: unknown, res: unknown, next: () => void) => void): void }).use(
      (req, _res, next) => context.with(ROOT_CONTEXT.setValue(key, req), next),
    );
  }
  await app.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
  process.on('message', (message) => {
    if (message === 'count') {
      void (handle?.forceFlush() ?? Promise.resolve()).then(() => process.send?.({ spans: exporter.exported }));
    }
  });
  process.send?.('ready');
}

if (require.main === module) {
  void main();
}
