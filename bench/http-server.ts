// One HTTP server of the HTTP benchmark, in its own process: the variant named by
// BENCH_VARIANT sets up tracing before Nest loads, then serves GET /users/:id (the
// handler awaits a service) on 127.0.0.1:BENCH_PORT. It tells the driver when it is
// ready and, when asked, how many spans its exporter received.
//
// The competitors (@opentelemetry/instrumentation-nestjs-core, nestjs-otel,
// @amplication/opentelemetry-nestjs and what they need) are dev dependencies of bench/
// only (bench/package.json): they are loaded with require() and typed here by what the
// bench uses of them, so that the root typecheck does not need bench's install.
import 'reflect-metadata';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AlwaysOnSampler, BatchSpanProcessor, type Sampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing } from 'nestjs-tracing/sdk';
import { CountingExporter } from './counting-exporter';

export const VARIANTS = [
  'untraced',
  'untraced-fastify',
  'sdk-only',
  'als-floor',
  'als-floor-fastify',
  'instrumentation-http',
  'instrumentation-http-fastify',
  'nestjs-tracing-express',
  'nestjs-tracing-fastify',
  'nestjs-tracing+instrumentation-http',
  'instrumentation-http+nestjs-core',
  'nestjs-otel',
  'amplication',
] as const;
export type Variant = (typeof VARIANTS)[number];

/** The variants whose app has the HTTP instrumentation of OpenTelemetry, enabled here. */
const WITH_INSTRUMENTATION_HTTP: readonly Variant[] = [
  'instrumentation-http',
  'instrumentation-http-fastify',
  'nestjs-tracing+instrumentation-http',
  'instrumentation-http+nestjs-core',
  'nestjs-otel',
];

/** What the bench uses of `@amplication/opentelemetry-nestjs` 6's SDK helper. */
interface AmplicationSdk {
  startNestJsOpenTelemetrySDK(configuration: {
    spanProcessors: SpanProcessor[];
    sampler: Sampler;
    metricReaders: unknown[];
    logRecordProcessors: unknown[];
  }): unknown;
}

/** Sets up the variant's tracing; returns what flushes its spans to the exporter. */
function startVariantTracing(variant: Variant, exporter: CountingExporter): () => Promise<void> {
  if (variant.startsWith('untraced')) {
    return async () => {};
  }
  if (variant === 'amplication') {
    // Its defaults, as its README starts them: NodeSDK with the Node auto-instrumentations
    // (its noise reduction: fs with a parent only, http, graphql; net, dns, express and
    // nestjs-core off), its context manager, propagators and resource detector. Spans go
    // to the counting exporter (AlwaysOn, batch processor); no metrics or logs are
    // exported, as in the other variants (NodeSDK's default would send both over OTLP).
    // The helper's own module, not the package's index: the index loads @nestjs/core,
    // and Nest must load after the instrumentations.
    const { startNestJsOpenTelemetrySDK } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@amplication/opentelemetry-nestjs/dist/open-telemetry-nestjs-sdk') as AmplicationSdk;
    const processor = new BatchSpanProcessor(exporter);
    startNestJsOpenTelemetrySDK({
      spanProcessors: [processor],
      sampler: new AlwaysOnSampler(),
      metricReaders: [],
      logRecordProcessors: [],
    });
    return () => processor.forceFlush();
  }
  const handle = startTracing({ exporter, sampler: 1, flushOnSignals: false });
  if (WITH_INSTRUMENTATION_HTTP.includes(variant)) {
    // Enabled before `http` and Nest load, as an app's bootstrap does.
    const { HttpInstrumentation } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
    new HttpInstrumentation();
  }
  if (variant === 'instrumentation-http+nestjs-core') {
    const { NestInstrumentation } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@opentelemetry/instrumentation-nestjs-core') as { NestInstrumentation: new () => unknown };
    new NestInstrumentation();
  }
  return () => handle.forceFlush();
}

async function main(): Promise<void> {
  const variant = process.env.BENCH_VARIANT as Variant;
  if (!VARIANTS.includes(variant)) {
    throw new Error(`BENCH_VARIANT: ${variant} is not one of ${VARIANTS.join(', ')}`);
  }
  const exporter = new CountingExporter();
  const flush = startVariantTracing(variant, exporter);
  // Nest loads only now, after tracing.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createApp } = require('./http-app') as typeof import('./http-app');
  const app = await createApp(variant);
  // The floor for any tracing that propagates context: one context entered per request, no span.
  const key = createContextKey('bench request');
  if (variant === 'als-floor') {
    (app as unknown as { use(fn: (req: unknown, res: unknown, next: () => void) => void): void }).use(
      (req, _res, next) => context.with(ROOT_CONTEXT.setValue(key, req), next),
    );
  }
  if (variant === 'als-floor-fastify') {
    type OnRequest = (req: unknown, reply: unknown, done: () => void) => void;
    const fastify = app.getHttpAdapter().getInstance() as { addHook(name: 'onRequest', hook: OnRequest): void };
    fastify.addHook('onRequest', (req, _reply, done) => context.with(ROOT_CONTEXT.setValue(key, req), done));
  }
  await app.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
  process.on('message', (message) => {
    if (message === 'count') {
      void flush().then(() => process.send?.({ spans: exporter.exported }));
    }
  });
  process.send?.('ready');
}

if (require.main === module) {
  void main();
}
