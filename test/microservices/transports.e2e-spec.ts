import { Transport, type ClientProvider, type MicroserviceOptions } from '@nestjs/microservices';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { randomUUID } from 'node:crypto';
import { BROKERS, requireBroker, type BrokerName } from '../brokers';
import { freePort } from '../helpers';
import { receivedEvents, startSystem, type System } from './apps';

interface TransportCase {
  name: string;
  broker?: BrokerName;
  /** `messaging.system` of its spans. */
  system: string;
  /** `messaging.destination.name` of a sent `users.get`, when it is not the pattern. */
  destination?: string;
  options: () => Promise<{ transport: Transport; options: Record<string, unknown> }>;
}

const run = randomUUID().slice(0, 8);
const rmqQueue = `nestjs-tracing-e2e-${run}`;

const TRANSPORTS: TransportCase[] = [
  {
    name: 'TCP',
    system: 'nestjs_tcp',
    options: async () => ({ transport: Transport.TCP, options: { host: '127.0.0.1', port: await freePort() } }),
  },
  {
    name: 'Redis',
    broker: 'redis',
    system: 'redis',
    options: async () => ({
      transport: Transport.REDIS,
      options: { host: BROKERS.redis.host, port: BROKERS.redis.port },
    }),
  },
  {
    name: 'NATS',
    broker: 'nats',
    system: 'nats',
    options: async () => ({ transport: Transport.NATS, options: { servers: [BROKERS.nats.url] } }),
  },
  {
    name: 'RabbitMQ',
    broker: 'rabbitmq',
    system: 'rabbitmq',
    destination: rmqQueue,
    options: async () => ({
      transport: Transport.RMQ,
      options: { urls: [BROKERS.rabbitmq.url], queue: rmqQueue, queueOptions: { durable: false, autoDelete: true } },
    }),
  },
  {
    name: 'MQTT 5',
    broker: 'mqtt',
    system: 'mqtt',
    options: async () => ({ transport: Transport.MQTT, options: { url: BROKERS.mqtt.url, protocolVersion: 5 } }),
  },
  {
    name: 'MQTT 3.1.1',
    broker: 'mqtt',
    system: 'mqtt',
    options: async () => ({ transport: Transport.MQTT, options: { url: BROKERS.mqtt.url, protocolVersion: 4 } }),
  },
];

const tracing = setupTestTracing();
afterAll(() => tracing.shutdown());

describe.each(TRANSPORTS)('one trace from an HTTP gateway through $name', (transportCase) => {
  let system: System;

  beforeAll(async () => {
    if (transportCase.broker !== undefined) {
      await requireBroker(transportCase.broker);
    }
    const options = await transportCase.options();
    system = await startSystem(options as MicroserviceOptions, options as ClientProvider);
  });
  afterEach(() => tracing.reset());
  afterAll(() => system?.close());

  const transport = transportCase.name.split(' ')[0].toLowerCase().replace('rabbitmq', 'rmq');

  /** Waits for the gateway's SERVER span (it ends after the response) and checks the one trace. */
  async function gatewaySpan(name: string): Promise<ReadableSpan> {
    const [span] = await tracing.waitForSpans(name);
    return span;
  }

  it('send(): HTTP SERVER -> CLIENT -> SERVER -> provider, one trace, right parents', async () => {
    const response = await fetch(`${system.url}/gateway/users/7`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { id: number; spanId: string };
    expect(body.id).toBe(7);
    const http = await gatewaySpan('GET /gateway/users/:id');
    const client = tracing.expectSpan('send users.get', {
      kind: SpanKind.CLIENT,
      parent: http,
      attributes: {
        'messaging.system': transportCase.system,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': transportCase.destination ?? 'users.get',
        'nestjs.transport': transport,
        'nestjs.pattern': 'users.get',
      },
    });
    const server = tracing.expectSpan('process users.get', {
      kind: SpanKind.SERVER,
      parent: client,
      status: SpanStatusCode.UNSET,
      attributes: {
        'messaging.system': transportCase.system,
        'messaging.operation.type': 'process',
        'nestjs.transport': transport,
        'nestjs.pattern': 'users.get',
        'nestjs.controller': 'UsersMessageController',
        'nestjs.handler': 'get',
      },
    });
    expect(body.spanId).toBe(server.spanContext().spanId);
    tracing.expectSpan('UsersStore.find', { parent: server });
    const traceIds = new Set(tracing.getFinishedSpans().map((span) => span.spanContext().traceId));
    expect(traceIds.size).toBe(1);
    expect(tracing.getFinishedSpans()).toHaveLength(4);
  });

  it('emit(): HTTP SERVER -> PRODUCER -> CONSUMER -> provider, one trace', async () => {
    const id = `${transport}-${run}-${Math.random()}`;
    const response = await fetch(`${system.url}/gateway/events/${encodeURIComponent(id)}`, { method: 'POST' });
    expect(response.status).toBe(201);
    await tracing.waitForSpans('UsersStore.record');
    await tracing.waitForSpans('process users.created');
    expect(receivedEvents.get(id)).toEqual({ id });
    const http = await gatewaySpan('POST /gateway/events/:id');
    const producer = tracing.expectSpan('send users.created', { kind: SpanKind.PRODUCER, parent: http });
    const consumer = tracing.expectSpan('process users.created', {
      kind: SpanKind.CONSUMER,
      parent: producer,
      attributes: { 'nestjs.handler': 'created', 'nestjs.pattern': 'users.created' },
    });
    tracing.expectSpan('UsersStore.record', { parent: consumer });
  });

  it('an RpcException marks the server and client spans ERROR', async () => {
    const response = await fetch(`${system.url}/gateway/fail`);
    expect(await response.json()).toEqual({ error: 'no such user' });
    await gatewaySpan('GET /gateway/fail');
    const server = tracing.expectSpan('process users.fail', {
      kind: SpanKind.SERVER,
      status: SpanStatusCode.ERROR,
      attributes: { 'error.type': 'RpcException' },
    });
    expect(server.events.filter((event) => event.name === 'exception')).toHaveLength(1);
    tracing.expectSpan('send users.fail', {
      kind: SpanKind.CLIENT,
      status: SpanStatusCode.ERROR,
      parent: 'GET /gateway/fail',
    });
  });

  it('a message a guard rejects still gets its span, and the next message is unaffected', async () => {
    const response = await fetch(`${system.url}/gateway/guarded`);
    expect(await response.json()).toEqual({ error: 'Forbidden resource' });
    await gatewaySpan('GET /gateway/guarded');
    tracing.expectSpan('process users.guarded', { kind: SpanKind.SERVER, parent: 'send users.guarded' });
    tracing.reset();
    expect((await fetch(`${system.url}/gateway/users/8`)).status).toBe(200);
    await gatewaySpan('GET /gateway/users/:id');
    tracing.expectSpan('process users.get', { status: SpanStatusCode.UNSET });
  });
});
