import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  EventPattern,
  GrpcMethod,
  GrpcStreamMethod,
  MessagePattern,
  Payload,
  Transport,
  type ClientGrpcProxy,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { TracingModule } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { join } from 'node:path';
import {
  concat,
  firstValueFrom,
  from,
  interval,
  map,
  of,
  reduce,
  take,
  throwError,
  toArray,
  type Observable,
} from 'rxjs';
import { freePort, PROTO_DIR } from '../helpers';

/** When each message span ends, and what it records, over TCP and gRPC streams. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tracing = setupTestTracing();
afterAll(() => tracing.shutdown());

@Controller()
class LifecycleController {
  @EventPattern('event.fails-late')
  async failsLate(): Promise<void> {
    await sleep(10);
    throw new Error('event failed late');
  }

  @MessagePattern('replies.then-fail')
  repliesThenFail(): Observable<number> {
    return concat(
      interval(5).pipe(take(3)),
      throwError(() => new Error('late stream error')),
    );
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return data;
  }

  @MessagePattern('fail')
  fail(): never {
    throw new Error('handler failed');
  }
}

@Controller()
class SumsController {
  @GrpcStreamMethod('Sums', 'Sum')
  sum(numbers: Observable<{ n: number }>) {
    return numbers.pipe(
      reduce((total, { n }) => total + n, 0),
      map((n) => ({ n })),
    );
  }

  @GrpcStreamMethod('Sums', 'Echo')
  echo(numbers: Observable<{ n: number }>) {
    return numbers;
  }

  @GrpcMethod('Sums', 'Count')
  count({ n }: { n: number }) {
    return from(Array.from({ length: n }, (_, index) => ({ n: index })));
  }
}

@Module({ imports: [TracingModule.forRoot()], controllers: [LifecycleController] })
class LifecycleModule {}

@Module({ imports: [TracingModule.forRoot()], controllers: [SumsController] })
class SumsModule {}

describe('message spans over TCP', () => {
  let client: ClientProxy;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const options = { host: '127.0.0.1', port: await freePort() };
    const service = await NestFactory.createMicroservice<MicroserviceOptions>(LifecycleModule, {
      transport: Transport.TCP,
      options,
      logger: false,
    });
    await service.listen();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options });
    close = async () => {
      client.close();
      await service.close();
    };
  });
  afterEach(() => tracing.reset());
  afterAll(() => close());

  it('an event handler that fails after an await marks its CONSUMER span ERROR', async () => {
    await firstValueFrom(client.emit('event.fails-late', 1), { defaultValue: undefined });
    const [consumer] = await tracing.waitForSpans('process event.fails-late');
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.status).toEqual({ code: SpanStatusCode.ERROR, message: 'event failed late' });
    expect(consumer.events.filter((event) => event.name === 'exception')).toHaveLength(1);
  });

  it('a handler that streams replies ends its span with the stream, and records its error', async () => {
    const replies: unknown[] = [];
    await expect(
      firstValueFrom(
        client.send('replies.then-fail', 1).pipe(
          map((reply) => replies.push(reply)),
          toArray(),
        ),
      ),
    ).rejects.toBeDefined();
    expect(replies).toEqual([0, 1, 2]);
    const [server] = await tracing.waitForSpans('process replies.then-fail');
    expect(server.status).toEqual({ code: SpanStatusCode.ERROR, message: 'late stream error' });
    tracing.expectSpan('send replies.then-fail', { status: SpanStatusCode.ERROR });
  });

  it('hands each reply back in the context of the request that sent it', async () => {
    const tracer = trace.getTracer('test');
    const ask = (name: string) =>
      tracer.startActiveSpan(name, async (span) => {
        const seen = await firstValueFrom(
          client.send('echo', name).pipe(map(() => trace.getActiveSpan()?.spanContext().spanId)),
        );
        span.end();
        return { expected: span.spanContext().spanId, seen };
      });
    // The first request opens the connection every later reply arrives on.
    const first = await ask('request A');
    const second = await ask('request B');
    expect(first.seen).toBe(first.expected);
    expect(second.seen).toBe(second.expected);
  });
});

it('a hybrid app without inheritAppConfig still records a handler error on the message span', async () => {
  const port = await freePort();
  const app = await NestFactory.create(LifecycleModule, { logger: false });
  app.connectMicroservice<MicroserviceOptions>({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  await app.startAllMicroservices();
  await app.init();
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  try {
    expect(await firstValueFrom(client.send('echo', 1))).toBe(1);
    await expect(firstValueFrom(client.send('fail', 1))).rejects.toBeDefined();
    const [server] = await tracing.waitForSpans('process fail');
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    tracing.expectSpan('process echo', { status: SpanStatusCode.UNSET });
  } finally {
    client.close();
    await app.close();
    tracing.reset();
  }
});

describe('gRPC streams', () => {
  interface Sums {
    sum(numbers: Observable<{ n: number }>): Observable<{ n: number }>;
    echo(numbers: Observable<{ n: number }>): Observable<{ n: number }>;
    count(request: { n: number }): Observable<{ n: number }>;
  }
  let sums: Sums;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const options = {
      package: 'streams',
      protoPath: join(PROTO_DIR, 'streams.proto'),
      url: `127.0.0.1:${await freePort()}`,
    };
    const service = await NestFactory.createMicroservice<MicroserviceOptions>(SumsModule, {
      transport: Transport.GRPC,
      options,
      logger: false,
    });
    await service.listen();
    const client = ClientProxyFactory.create({ transport: Transport.GRPC, options }) as unknown as ClientGrpcProxy;
    sums = client.getService<Sums>('Sums');
    close = async () => {
      client.close();
      await service.close();
    };
  });
  afterEach(() => tracing.reset());
  afterAll(() => close());

  it.each<[string, string, () => Observable<unknown>]>([
    ['server streaming', 'streams.Sums/Count', () => sums.count({ n: 3 }).pipe(toArray())],
    ['client streaming', 'streams.Sums/Sum', () => sums.sum(of({ n: 1 }, { n: 2 }))],
    ['bidi streaming', 'streams.Sums/Echo', () => sums.echo(of({ n: 1 }, { n: 2 })).pipe(toArray())],
  ])('%s: the CLIENT and SERVER spans end, one trace', async (_kind, method, call) => {
    await firstValueFrom(call());
    const [server] = await tracing.waitForSpans((span) => span.kind === SpanKind.SERVER && span.name === method);
    const client = tracing.expectSpan((span) => span.kind === SpanKind.CLIENT && span.name === method);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
  });
});
