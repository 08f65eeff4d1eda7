// Cost of @Traced() over a plain call, and of a raw tracer.startActiveSpan() for
// comparison, with no SDK registered and with an SDK (AlwaysOn sampling, batch
// processor, an exporter that discards). Variants alternate within each round;
// the table shows medians over the rounds. Run: npm run bench
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Traced } from 'nestjs-tracing';
import { startTracing } from 'nestjs-tracing/sdk';

// BENCH_SMOKE=1: a run of a second or so, to check the harness (CI does).
const SMOKE = process.env.BENCH_SMOKE === '1';
const ROUNDS = SMOKE ? 1 : 7;
const CALLS = SMOKE ? 2_000 : 50_000;

class Plain {
  sync(value: number): number {
    return value + 1;
  }

  async promise(value: number): Promise<number> {
    return value + 1;
  }
}

class Decorated {
  @Traced()
  sync(value: number): number {
    return value + 1;
  }

  @Traced()
  async promise(value: number): Promise<number> {
    return value + 1;
  }
}

const raw = {
  sync(value: number): number {
    return trace.getTracer('bench').startActiveSpan('raw', (span) => {
      try {
        return value + 1;
      } finally {
        span.end();
      }
    });
  },
  promise(value: number): Promise<number> {
    return trace.getTracer('bench').startActiveSpan('raw', async (span) => {
      try {
        return value + 1;
      } finally {
        span.end();
      }
    });
  },
};

type Variant = { name: string; sync: (value: number) => number; promise: (value: number) => Promise<number> };

const plain = new Plain();
const decorated = new Decorated();
const variants: Variant[] = [
  { name: 'plain call', sync: (v) => plain.sync(v), promise: (v) => plain.promise(v) },
  { name: '@Traced()', sync: (v) => decorated.sync(v), promise: (v) => decorated.promise(v) },
  { name: 'raw startActiveSpan', sync: raw.sync, promise: raw.promise },
];

async function measure(fn: (value: number) => unknown, awaited: boolean): Promise<number> {
  const start = process.hrtime.bigint();
  for (let index = 0; index < CALLS; index++) {
    if (awaited) {
      await fn(index);
    } else {
      fn(index);
    }
  }
  return Number(process.hrtime.bigint() - start) / CALLS;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function run(setup: string): Promise<Record<string, Record<string, number>>> {
  const samples = new Map<string, number[]>();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      for (const shape of ['sync', 'promise'] as const) {
        const ns = await measure(variant[shape], shape === 'promise');
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
    for (const shape of ['sync', 'promise']) {
      result[variant.name][shape] = median(samples.get(`${variant.name}|${shape}`)!);
    }
  }
  console.log(`\n${setup}: ns per call (median of ${ROUNDS} rounds of ${CALLS} calls), overhead over the plain call`);
  console.log('| variant | sync | over plain | Promise | over plain |');
  console.log('|---|---|---|---|---|');
  const base = result['plain call'];
  for (const variant of variants) {
    const row = result[variant.name];
    const over = (shape: string) => (variant.name === 'plain call' ? '' : `${Math.round(row[shape] - base[shape])}`);
    console.log(
      `| ${variant.name} | ${Math.round(row.sync)} | ${over('sync')} | ${Math.round(row.promise)} | ${over('promise')} |`,
    );
  }
  return result;
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString() };
  results['no SDK'] = await run('No SDK registered');

  const discard: SpanExporter = {
    export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: async () => {},
  };
  const handle = startTracing({ exporter: discard });
  results['SDK on'] = await run('SDK on (AlwaysOn, batch processor, discarding exporter)');
  await handle.shutdown();

  const directory = join(__dirname, '..', 'results');
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'traced.json'), JSON.stringify(results, null, 2));
  console.log(`\nwritten ${join(directory, 'traced.json')}`);
}

void main();
