// The client of the microservices benchmark, in its own process: the variant named by
// BENCH_VARIANT sets up tracing before Nest loads, then a Nest application context
// with a `ClientsModule` client (and `TracingModule.forRoot()` when traced) connects
// to the microservice over BENCH_TRANSPORT. When the driver asks, it keeps a fixed
// number of `send('sum', …)` in flight for a time (warm-up) or for a number of
// messages (measure), and answers with the replies, the duration and the latencies;
// and, when asked, how many spans its exporter received.
import type { DynamicModule } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { answerSpanCounts, load, PATTERN, setUp, sum, transportOptions, type Setup } from './microservices-server';

/** What the driver asks for: a warm-up of `seconds`, or a measure of `messages`. */
export type RunRequest =
  { run: 'warmup'; seconds: number; concurrency: number } | { run: 'measure'; messages: number; concurrency: number };

export interface RunResult {
  replies: number;
  seconds: number;
  /** Round trip of one `send()`, in ms. */
  p50: number;
  p99: number;
}

const SUM_CLIENT = 'SUM_CLIENT';

/** The client's module, `TracingModule.forRoot()` included when traced. Loads Nest. */
function clientModule(setup: Setup): DynamicModule {
  const { Module } = load<typeof import('@nestjs/common')>('@nestjs/common');
  const { ClientsModule } = load<typeof import('@nestjs/microservices')>('@nestjs/microservices');
  const { TracingModule } = load<typeof import('nestjs-tracing')>('nestjs-tracing');

  @Module({})
  class SumClientModule {}

  const client = { name: SUM_CLIENT, ...transportOptions(setup.transport, setup.port) };
  return {
    module: SumClientModule,
    imports: [
      ...(setup.variant === 'traced' ? [TracingModule.forRoot()] : []),
      ClientsModule.register([client as never]),
    ],
  };
}

/**
 * Keeps `concurrency` messages in flight until `more()` says stop; records each round
 * trip in `latencies` (by message index) when given.
 */
async function drive(
  client: ClientProxy,
  concurrency: number,
  more: (sent: number) => boolean,
  latencies?: Float64Array,
): Promise<number> {
  let sent = 0;
  let replies = 0;
  const worker = async (): Promise<void> => {
    while (more(sent)) {
      const index = sent++;
      const numbers = [index, 1, 2];
      const started = performance.now();
      const reply = await firstValueFrom(client.send<number, number[]>(PATTERN, numbers));
      if (latencies !== undefined) {
        latencies[index] = performance.now() - started;
      }
      if (reply !== sum(numbers)) {
        throw new Error(`Wrong reply to ${JSON.stringify(numbers)}: ${JSON.stringify(reply)}`);
      }
      replies++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return replies;
}

async function run(client: ClientProxy, request: RunRequest): Promise<RunResult> {
  const started = performance.now();
  if (request.run === 'warmup') {
    const until = started + request.seconds * 1000;
    const replies = await drive(client, request.concurrency, () => performance.now() < until);
    return { replies, seconds: (performance.now() - started) / 1000, p50: 0, p99: 0 };
  }
  const latencies = new Float64Array(request.messages);
  const replies = await drive(client, request.concurrency, (sent) => sent < request.messages, latencies);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  return { replies, seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

/** The `fraction` percentile of sorted values (nearest rank). */
function percentile(sorted: Float64Array, fraction: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const setup = setUp();
  // Nest loads only now, after tracing.
  const { NestFactory } = load<typeof import('@nestjs/core')>('@nestjs/core');
  const app = await NestFactory.createApplicationContext(clientModule(setup), { logger: false });
  const client = app.get<ClientProxy>(SUM_CLIENT);
  await client.connect();
  answerSpanCounts(setup);
  process.on('message', (message) => {
    if (typeof message === 'object' && message !== null && 'run' in message) {
      run(client, message as RunRequest).then(
        (result) => process.send?.({ result }),
        (error: unknown) => process.send?.({ error: error instanceof Error ? error.message : String(error) }),
      );
    }
  });
  process.send?.('ready');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error('microservices-client:', error);
    process.exit(1);
  });
}
