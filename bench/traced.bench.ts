// Cost of @Traced() over a plain call, next to a raw tracer.startActiveSpan() and the
// method decorators of two other NestJS tracing packages (nestjs-otel's @Span() and
// @amplication/opentelemetry-nestjs's @Span()), for a sync method, a Promise method
// and an Observable method, with no SDK registered and with an SDK (AlwaysOn sampling,
// batch processor, an exporter that discards). Variants alternate within each round;
// the table shows medians over the rounds. Run: npm run bench:traced (BENCH_SMOKE=1: a
// run of seconds, to check the harness).
//
// The two competitors are dev dependencies of bench/ only (bench/package.json): they
// are loaded with require() and typed here by what the bench uses of them, so that the
// root typecheck does not need bench's install.
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { isSpanContextValid, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { finalize, of, tap, type Observable } from 'rxjs';
import { Traced } from 'nestjs-tracing';
import { startTracing } from 'nestjs-tracing/sdk';
import { median } from './driver';

// BENCH_SMOKE=1: a run of a few seconds, to check the harness (CI does).
const SMOKE = process.env.BENCH_SMOKE === '1';
const ROUNDS = SMOKE ? 1 : 7;
const CALLS = SMOKE ? 2_000 : 50_000;

/** What the bench uses of nestjs-otel 7: its method decorator, which wraps the method where it is applied. */
interface NestjsOtel {
  Span(): MethodDecorator;
}
/**
 * What the bench uses of @amplication/opentelemetry-nestjs 6: its `@Span()` only sets
 * metadata; its module's DecoratorInstrumentation wraps the marked methods of the
 * providers when a Nest application (context) starts.
 */
interface Amplication {
  Span(): MethodDecorator;
  OpenTelemetryModule: { forRoot(): DynamicModule };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nestjsOtel = require('nestjs-otel') as NestjsOtel;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const amplication = require('@amplication/opentelemetry-nestjs') as Amplication;

class Plain {
  sync(value: number): number {
    return value + 1;
  }

  async promise(value: number): Promise<number> {
    return value + 1;
  }

  observable(value: number): Observable<number> {
    return of(value + 1);
  }
}

/** A class of Plain's methods, each under `@decorator()` as an app writes it. */
function decoratedWith(decorator: () => MethodDecorator): new () => Plain {
  class Spanned {
    @decorator()
    sync(value: number): number {
      return value + 1;
    }

    @decorator()
    async promise(value: number): Promise<number> {
      return value + 1;
    }

    @decorator()
    observable(value: number): Observable<number> {
      return of(value + 1);
    }
  }
  return Spanned;
}

const Decorated = decoratedWith(Traced);
const NestjsOtelSpanned = decoratedWith(nestjsOtel.Span);

/** A provider of its own, whose methods amplication's DecoratorInstrumentation wraps. */
@Injectable()
class AmplicationSpanned extends decoratedWith(amplication.Span) {}

/** amplication's @Span() works on a provider of an app importing its module (with its defaults). */
@Module({ imports: [amplication.OpenTelemetryModule.forRoot()], providers: [AmplicationSpanned] })
class AmplicationBenchModule {}

/**
 * What a hand-written wrapper around `tracer.startActiveSpan()` does to give a span the
 * same content as `@Traced()`: the same two attributes, the exception recorded and the
 * status set on a throw or rejection, the span ended once. The tracer is the API's
 * global one, as an app would hold it.
 */
const rawTracer = trace.getTracer('bench');
const RAW_ATTRIBUTES = { 'code.function.name': 'Raw.method', 'nestjs.class': 'Raw' };
const RAW_OPTIONS = { attributes: RAW_ATTRIBUTES };

function failed(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

const raw = {
  sync(value: number): number {
    return rawTracer.startActiveSpan('Raw.method', RAW_OPTIONS, (span) => {
      try {
        return value + 1;
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  },
  promise(value: number): Promise<number> {
    return rawTracer.startActiveSpan('Raw.method', RAW_OPTIONS, async (span) => {
      try {
        return value + 1;
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  },
  observable(value: number): Observable<number> {
    // Ends when the Observable completes (or errors, or is unsubscribed).
    return rawTracer.startActiveSpan('Raw.method', RAW_OPTIONS, (span) =>
      of(value + 1).pipe(
        tap({ error: (error: unknown) => failed(span, error) }),
        finalize(() => span.end()),
      ),
    );
  },
};

const SHAPES = ['sync', 'promise', 'observable'] as const;
type Shape = (typeof SHAPES)[number];
type Variant = {
  name: string;
  sync: (value: number) => number;
  promise: (value: number) => Promise<number>;
  observable: (value: number) => Observable<number>;
};

/** What each competitor's decorator does with an Observable, read from its source. */
const NOTES = [
  'nestjs-otel @Span() and amplication @Span() do not follow Observables: they end the span when the method returns,',
  'before the Observable is subscribed, so their Observable column is the cost of a span around the return only',
  '(the subscription runs outside it). @Traced() and raw startActiveSpan end it when the Observable completes.',
];

/** Subscribes and resolves when the Observable completes. */
function completion(source: Observable<unknown>): Promise<void> {
  return new Promise((resolve, reject) => source.subscribe({ complete: resolve, error: reject }));
}

async function measure(fn: (value: number) => unknown, shape: Shape): Promise<number> {
  const start = process.hrtime.bigint();
  for (let index = 0; index < CALLS; index++) {
    if (shape === 'sync') {
      fn(index);
    } else if (shape === 'promise') {
      await fn(index);
    } else {
      await completion(fn(index) as Observable<unknown>);
    }
  }
  return Number(process.hrtime.bigint() - start) / CALLS;
}

/** Whether a tracer provider is registered with the OpenTelemetry API (of any copy of it, major version 1). */
function tracerProviderRegistered(): boolean {
  const api = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  const span = trace.getTracer('bench probe').startSpan('probe');
  span.end();
  return api?.trace !== undefined || span.isRecording() || isSpanContextValid(span.spanContext());
}

async function run(setup: string, variants: Variant[]): Promise<Record<string, Record<string, number>>> {
  const samples = new Map<string, number[]>();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      for (const shape of SHAPES) {
        const ns = await measure(variant[shape], shape);
        if (round > 0) {
          const key = `${variant.name}|${shape}`;
          samples.set(key, [...(samples.get(key) ?? []), ns]);
        }
      }
    }
  }
  const result: Record<string, Record<string, number>> = {};
  for (const variant of variants) {
    result[variant.name] = {};
    for (const shape of SHAPES) {
      result[variant.name][shape] = median(samples.get(`${variant.name}|${shape}`)!);
    }
  }
  console.log(`\n${setup}: ns per call (median of ${ROUNDS} rounds of ${CALLS} calls), overhead over the plain call`);
  console.log('| variant | sync | over plain | Promise | over plain | Observable | over plain |');
  console.log('|---|---|---|---|---|---|---|');
  const base = result['plain call'];
  for (const variant of variants) {
    const row = result[variant.name];
    const cells = SHAPES.map((shape) => {
      const over = variant.name === 'plain call' ? '' : `${Math.round(row[shape] - base[shape])}`;
      return `${Math.round(row[shape])} | ${over}`;
    });
    console.log(`| ${variant.name} | ${cells.join(' | ')} |`);
  }
  return result;
}

async function main(): Promise<void> {
  const amplicationApp: INestApplicationContext = await NestFactory.createApplicationContext(AmplicationBenchModule, {
    logger: false,
  });
  const plain = new Plain();
  const decorated = new Decorated();
  const otelSpanned = new NestjsOtelSpanned();
  const amplicationSpanned = amplicationApp.get(AmplicationSpanned);
  const variants: Variant[] = [
    {
      name: 'plain call',
      sync: (v) => plain.sync(v),
      promise: (v) => plain.promise(v),
      observable: (v) => plain.observable(v),
    },
    {
      name: '@Traced()',
      sync: (v) => decorated.sync(v),
      promise: (v) => decorated.promise(v),
      observable: (v) => decorated.observable(v),
    },
    { name: 'raw startActiveSpan', sync: raw.sync, promise: raw.promise, observable: raw.observable },
    {
      name: 'nestjs-otel @Span()',
      sync: (v) => otelSpanned.sync(v),
      promise: (v) => otelSpanned.promise(v),
      observable: (v) => otelSpanned.observable(v),
    },
    {
      name: 'amplication @Span()',
      sync: (v) => amplicationSpanned.sync(v),
      promise: (v) => amplicationSpanned.promise(v),
      observable: (v) => amplicationSpanned.observable(v),
    },
  ];

  const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString(), smoke: SMOKE };
  // Loading the competitors and starting amplication's module must not have registered a provider.
  if (tracerProviderRegistered()) {
    throw new Error('a tracer provider is registered before the no-SDK run: it would not measure "no SDK"');
  }
  results['no SDK'] = await run('No SDK registered', variants);
  if (tracerProviderRegistered()) {
    throw new Error('a tracer provider got registered during the no-SDK run');
  }

  const discard: SpanExporter = {
    export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: async () => {},
  };
  const handle = startTracing({ exporter: discard });
  if (!tracerProviderRegistered()) {
    throw new Error('startTracing() registered no tracer provider');
  }
  results['SDK on'] = await run('SDK on (AlwaysOn, batch processor, discarding exporter)', variants);
  await handle.shutdown();
  await amplicationApp.close();
  console.log(`\n${NOTES.join('\n')}`);
  results.notes = NOTES.join(' ');

  const directory = join(__dirname, '..', 'results');
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'traced.json'), JSON.stringify(results, null, 2));
  console.log(`\nwritten ${join(directory, 'traced.json')}`);
}

void main();
