// One Nest microservice of the microservices benchmark, in its own process: the variant
// named by BENCH_VARIANT sets up tracing before Nest loads, then answers
// `@MessagePattern('sum')` on the transport named by BENCH_TRANSPORT (TCP on
// 127.0.0.1:BENCH_PORT, or the local Redis or NATS). It tells the driver when it is
// listening and, when asked, how many spans its exporter received. The client process
// (microservices-client.ts) shares the helpers below.
import 'reflect-metadata';
import type { DynamicModule } from '@nestjs/common';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { startTracing, type TracingHandle } from 'nestjs-tracing/sdk';
import { CountingExporter } from './counting-exporter';

export const TRANSPORTS = ['tcp', 'redis', 'nats'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

export const VARIANTS = ['untraced', 'traced'] as const;
export type Variant = (typeof VARIANTS)[number];

/** The local brokers (as in test/brokers.ts); `bash .ci/brokers.sh` starts any that is down. */
export const BROKERS = {
  redis: { host: '127.0.0.1', port: 6379 },
  nats: { host: '127.0.0.1', port: 4222 },
} as const;

/** The pattern every message is sent to, and what its handler answers. */
export const PATTERN = 'sum';
export const sum = (numbers: number[]): number => numbers.reduce((total, value) => total + value, 0);

/** What a benchmark process reads from its environment, with tracing started when the variant is traced. */
export interface Setup {
  variant: Variant;
  transport: TransportName;
  port: number;
  exporter: CountingExporter;
  tracing: TracingHandle | undefined;
}

/** Reads the variant, and starts tracing (before anything loads Nest) when it is `traced`. */
export function setUp(): Setup {
  const variant = process.env.BENCH_VARIANT as Variant;
  const transport = process.env.BENCH_TRANSPORT as TransportName;
  if (!VARIANTS.includes(variant) || !TRANSPORTS.includes(transport)) {
    throw new Error(`Unknown BENCH_VARIANT ${variant} or BENCH_TRANSPORT ${transport}`);
  }
  const exporter = new CountingExporter();
  const tracing = variant === 'traced' ? startTracing({ exporter, sampler: 1, flushOnSignals: false }) : undefined;
  // Never outlive the driver, even when it dies without killing this process.
  process.on('disconnect', () => process.exit(0));
  return { variant, transport, port: Number(process.env.BENCH_PORT), exporter, tracing };
}

/** Answers the driver's `count` with the number of spans exported so far (after a flush). */
export function answerSpanCounts(setup: Setup): void {
  process.on('message', (message) => {
    if (message === 'count') {
      void (setup.tracing?.forceFlush() ?? Promise.resolve()).then(() =>
        process.send?.({ spans: setup.exporter.exported }),
      );
    }
  });
}

/** The transport options, the same for the server and the client. Loads Nest. */
export function transportOptions(transport: TransportName, port: number): MicroserviceOptions {
  const { Transport } = load<typeof import('@nestjs/microservices')>('@nestjs/microservices');
  switch (transport) {
    case 'tcp':
      return { transport: Transport.TCP, options: { host: '127.0.0.1', port } };
    case 'redis':
      return { transport: Transport.REDIS, options: { host: BROKERS.redis.host, port: BROKERS.redis.port } };
    case 'nats':
      return { transport: Transport.NATS, options: { servers: [`nats://${BROKERS.nats.host}:${BROKERS.nats.port}`] } };
  }
}

/** `require()`, for the modules that must load only after tracing is set up. */
export function load<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

/** The microservice's module, `TracingModule.forRoot()` included when traced. Loads Nest. */
function serverModule(traced: boolean): DynamicModule {
  const { Controller, Module } = load<typeof import('@nestjs/common')>('@nestjs/common');
  const { MessagePattern, Payload } = load<typeof import('@nestjs/microservices')>('@nestjs/microservices');
  const { TracingModule } = load<typeof import('nestjs-tracing')>('nestjs-tracing');

  @Controller()
  class SumController {
    @MessagePattern(PATTERN)
    sum(@Payload() numbers: number[]): number {
      return sum(numbers);
    }
  }

  @Module({})
  class SumServiceModule {}

  return {
    module: SumServiceModule,
    imports: traced ? [TracingModule.forRoot()] : [],
    controllers: [SumController],
  };
}

async function main(): Promise<void> {
  const setup = setUp();
  // Nest loads only now, after tracing.
  const { NestFactory } = load<typeof import('@nestjs/core')>('@nestjs/core');
  const service = await NestFactory.createMicroservice<MicroserviceOptions>(serverModule(setup.variant === 'traced'), {
    ...transportOptions(setup.transport, setup.port),
    logger: false,
  });
  await service.listen();
  answerSpanCounts(setup);
  process.send?.('ready');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error('microservices-server:', error);
    process.exit(1);
  });
}
