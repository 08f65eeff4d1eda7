import { Controller, Module, type INestApplicationContext, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientKafka,
  ClientProxyFactory,
  ClientsModule,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { TracingModule, TracingService } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import * as amqp from 'amqplib';
import Redis from 'ioredis';
import * as mqtt from 'mqtt';
import { connect as connectNats, JSONCodec, type Msg, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { BROKERS, requireBroker } from '../brokers';
import { freePort } from '../helpers';

/**
 * What a peer without this module sees of a traced client's message: the trace
 * context in the transport's own headers (or the envelope's `metadata` field where
 * there are none), and the payload exactly as sent.
 */
const tracing = setupTestTracing();
const run = randomUUID().slice(0, 8);
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

@Module({ imports: [TracingModule.forRoot()] })
class TracedClientsModule {}

let app: INestApplicationContext;
let tracingService: TracingService;

beforeAll(async () => {
  app = await NestFactory.createApplicationContext(TracedClientsModule, { logger: false });
  tracingService = app.get(TracingService);
});
afterAll(async () => {
  await app.close();
  await tracing.shutdown();
});

/** Emits `data` on `pattern` from a traced client, inside a span. */
async function emitTraced(client: ClientProxy, pattern: string, data: unknown): Promise<void> {
  await tracingService.startActiveSpan('caller', () =>
    firstValueFrom(client.emit(pattern, data), { defaultValue: undefined }),
  );
}

/** `promise`, or a rejection naming `what` after 5 s. */
async function waitFor<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<T>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

it('RabbitMQ: the context in the AMQP headers, the payload untouched', async () => {
  await requireBroker('rabbitmq');
  const queue = `nestjs-tracing-carrier-${run}`;
  const connection = await amqp.connect(BROKERS.rabbitmq.url);
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: false, autoDelete: true });
  const received = new Promise<amqp.ConsumeMessage>((resolve) => {
    void channel.consume(queue, (message) => message && resolve(message), { noAck: true });
  });
  const client = ClientProxyFactory.create({
    transport: Transport.RMQ,
    options: { urls: [BROKERS.rabbitmq.url], queue, queueOptions: { durable: false, autoDelete: true } },
  });
  try {
    await emitTraced(client, 'orders.created', { id: 1 });
    const message = await waitFor(received, 'AMQP message');
    expect(message.properties.headers?.traceparent).toMatch(TRACEPARENT);
    expect(JSON.parse(message.content.toString())).toEqual({ pattern: 'orders.created', data: { id: 1 } });
  } finally {
    await client.close();
    await connection.close();
  }
});

/** The first message published on `subject`. */
async function firstMessage(nats: NatsConnection, subject: string): Promise<Msg> {
  for await (const message of nats.subscribe(subject, { max: 1 })) {
    return message;
  }
  throw new Error('subscription closed');
}

it('NATS: the context in the message headers, the payload untouched', async () => {
  await requireBroker('nats');
  const subject = `carrier.${run}`;
  const nats = await connectNats({ servers: BROKERS.nats.url });
  const received = firstMessage(nats, subject);
  const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [BROKERS.nats.url] } });
  try {
    await emitTraced(client, subject, { id: 2 });
    const message = await waitFor(received, 'NATS message');
    expect(message.headers?.get('traceparent')).toMatch(TRACEPARENT);
    expect(JSON.parse(new TextDecoder().decode(message.data))).toEqual({ pattern: subject, data: { id: 2 } });
  } finally {
    await client.close();
    await nats.close();
  }
});

it.each([
  [5, 'the PUBLISH user properties'],
  [4, 'the envelope metadata (MQTT 3.1.1 has no properties)'],
] as const)('MQTT %i: the context in %s, the data untouched', async (protocolVersion, _where) => {
  await requireBroker('mqtt');
  const topic = `carrier/${run}/${protocolVersion}`;
  const subscriber = await mqtt.connectAsync(BROKERS.mqtt.url, { protocolVersion: 5 });
  await subscriber.subscribeAsync(topic);
  const received = new Promise<{ payload: Buffer; userProperties: unknown }>((resolve) => {
    subscriber.on('message', (_topic, payload, packet) =>
      resolve({ payload, userProperties: packet.properties?.userProperties }),
    );
  });
  const client = ClientProxyFactory.create({
    transport: Transport.MQTT,
    options: { url: BROKERS.mqtt.url, protocolVersion },
  });
  try {
    await emitTraced(client, topic, { id: 3 });
    const { payload, userProperties } = await waitFor(received, 'MQTT message');
    const envelope = JSON.parse(payload.toString()) as {
      pattern: string;
      data: unknown;
      metadata?: Record<string, string>;
    };
    expect(envelope.data).toEqual({ id: 3 });
    if (protocolVersion === 5) {
      expect((userProperties as Record<string, string>).traceparent).toMatch(TRACEPARENT);
      expect(envelope.metadata).toBeUndefined();
    } else {
      expect(envelope.metadata?.traceparent).toMatch(TRACEPARENT);
    }
  } finally {
    await client.close();
    await subscriber.endAsync();
  }
});

it('Redis: the context in the envelope metadata, the data untouched', async () => {
  await requireBroker('redis');
  const channel = `carrier.${run}`;
  const subscriber = new Redis({ host: BROKERS.redis.host, port: BROKERS.redis.port });
  await subscriber.subscribe(channel);
  const received = new Promise<string>((resolve) =>
    subscriber.on('message', (_channel, message: string) => resolve(message)),
  );
  const client = ClientProxyFactory.create({
    transport: Transport.REDIS,
    options: { host: BROKERS.redis.host, port: BROKERS.redis.port },
  });
  try {
    await emitTraced(client, channel, { id: 4 });
    const envelope = JSON.parse(await waitFor(received, 'Redis message')) as {
      data: unknown;
      metadata?: Record<string, string>;
    };
    expect(envelope.data).toEqual({ id: 4 });
    expect(envelope.metadata?.traceparent).toMatch(TRACEPARENT);
  } finally {
    await client.close();
    subscriber.disconnect();
  }
});

@Controller()
class EchoController {
  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return { received: data };
  }
}

@Module({ controllers: [EchoController] })
class UntracedServiceModule {}

/** A TCP microservice without this module that echoes what it gets. */
async function startUntracedEcho(): Promise<{ port: number; service: INestMicroservice }> {
  const port = await freePort();
  const service = await NestFactory.createMicroservice<MicroserviceOptions>(UntracedServiceModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
    logger: false,
  });
  await service.listen();
  return { port, service };
}

it('TCP: a server without this module gets the data as sent and answers', async () => {
  const { port, service } = await startUntracedEcho();
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  try {
    const reply = await tracingService.startActiveSpan('caller', () =>
      firstValueFrom(client.send('echo', { id: 5, metadata: 'mine' })),
    );
    expect(reply).toEqual({ received: { id: 5, metadata: 'mine' } });
    tracing.expectSpan('send echo', { parent: 'caller' });
  } finally {
    client.close();
    await service.close();
  }
});

it('a client from ClientsModule.registerAsync() is traced as well', async () => {
  tracing.reset();
  const { port, service } = await startUntracedEcho();
  @Module({
    imports: [
      TracingModule.forRoot(),
      ClientsModule.registerAsync([
        { name: 'ECHO', useFactory: () => ({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }) },
      ]),
    ],
  })
  class AsyncClientModule {}
  const context = await NestFactory.createApplicationContext(AsyncClientModule, { logger: false });
  try {
    const client = context.get<ClientProxy>('ECHO');
    const reply = await context
      .get(TracingService)
      .startActiveSpan('caller', () => firstValueFrom(client.send('echo', { id: 8 })));
    expect(reply).toEqual({ received: { id: 8 } });
    tracing.expectSpan('send echo', { parent: 'caller', attributes: { 'nestjs.transport': 'tcp' } });
  } finally {
    await context.close();
    await service.close();
    tracing.reset();
  }
});

describe('with a custom serializer', () => {
  it('Kafka: the serializer gets the data as emitted, and its record carries the context', async () => {
    const seen: unknown[] = [];
    // e.g. a schema-registry serializer: it encodes the app's data as the record value.
    const serializer = {
      serialize: (data: unknown) => {
        seen.push(data);
        return { value: JSON.stringify(data), headers: { schema: 'v1' } };
      },
    };
    const produced: { messages: { headers: Record<string, string> }[] }[] = [];
    const client = new ClientKafka({ client: { brokers: ['127.0.0.1:1'] }, producerOnlyMode: true, serializer });
    Object.assign(client, {
      _producer: { send: async (record: (typeof produced)[number]) => void produced.push(record) },
    });
    await tracingService.startActiveSpan('caller', () =>
      (client as unknown as { dispatchEvent(packet: object): Promise<unknown> }).dispatchEvent({
        pattern: 'orders',
        data: { id: 6 },
      }),
    );
    expect(seen).toEqual([{ id: 6 }]);
    expect(produced[0].messages[0].headers).toEqual({ schema: 'v1', traceparent: expect.stringMatching(TRACEPARENT) });
  });

  it('NATS: the data arrives as sent, and the message headers carry the context', async () => {
    await requireBroker('nats');
    const codec = JSONCodec();
    const serializer = { serialize: (packet: unknown) => ({ data: codec.encode(packet) }) };
    const subject = `carrier.custom.${run}`;
    const nats = await connectNats({ servers: BROKERS.nats.url });
    const received = firstMessage(nats, subject);
    const client = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: { servers: [BROKERS.nats.url], serializer },
    });
    try {
      await emitTraced(client, subject, { id: 7 });
      const message = await waitFor(received, 'NATS message');
      expect(codec.decode(message.data)).toEqual({ pattern: subject, data: { id: 7 } });
      expect(message.headers?.get('traceparent')).toMatch(TRACEPARENT);
    } finally {
      await client.close();
      await nats.close();
    }
  });
});
