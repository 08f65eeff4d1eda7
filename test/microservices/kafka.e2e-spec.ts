import { Controller, Injectable, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientKafka,
  EventPattern,
  MessagePattern,
  Payload,
  Transport,
  type MicroserviceOptions,
  type ServerKafka,
} from '@nestjs/microservices';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Traced, TracingModule, TracingService } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';

/**
 * No Kafka broker runs here: these tests drive Nest's real `ClientKafka` and
 * `ServerKafka` with kafkajs-shaped records, through a stand-in producer, and check
 * the carrier (record headers) and the spans on both sides.
 */
const BROKERS = ['127.0.0.1:1'];

const handled: unknown[] = [];

@Injectable()
class OrdersStore {
  @Traced()
  save(order: unknown) {
    handled.push(order);
  }
}

@Controller()
class OrdersController {
  constructor(private readonly store: OrdersStore) {}

  @EventPattern('orders.created')
  created(@Payload() order: unknown) {
    this.store.save(order);
  }

  @MessagePattern('orders.get')
  get(@Payload() id: number) {
    return { id, status: 'shipped' };
  }
}

@Module({ imports: [TracingModule.forRoot()], controllers: [OrdersController], providers: [OrdersStore] })
class OrdersModule {}

interface ProducedRecord {
  topic: string;
  messages: { key?: unknown; value: string | Buffer | null; headers: Record<string, unknown> }[];
}

/** A kafkajs `EachMessagePayload` for a record as the producer would have written it. */
function eachMessagePayload(record: ProducedRecord, offset: string) {
  const [message] = record.messages;
  const headers = Object.fromEntries(
    Object.entries(message.headers).map(([key, value]) => [key, Buffer.from(String(value))]),
  );
  return {
    topic: record.topic,
    partition: 2,
    message: {
      key: Buffer.from('order-1'),
      value: message.value === null ? null : Buffer.from(message.value),
      headers,
      offset,
      timestamp: '0',
      attributes: 0,
      size: 0,
    },
    heartbeat: async () => undefined,
    pause: () => () => undefined,
  };
}

const tracing = setupTestTracing();

describe('Kafka, at the carrier level (no broker)', () => {
  let service: INestMicroservice;
  let server: ServerKafka;
  let client: ClientKafka;
  const produced: ProducedRecord[] = [];

  beforeAll(async () => {
    service = await NestFactory.createMicroservice<MicroserviceOptions>(OrdersModule, {
      transport: Transport.KAFKA,
      options: { client: { brokers: BROKERS } },
      logger: false,
    });
    await service.init();
    server = (service as unknown as { serverInstance: ServerKafka }).serverInstance;
    client = new ClientKafka({ client: { brokers: BROKERS }, producerOnlyMode: true });
    const producer = {
      send: async (record: ProducedRecord) => void produced.push(record),
      disconnect: async () => undefined,
    };
    Object.assign(client, { _producer: producer });
    Object.assign(server, { producer });
  });
  afterEach(() => {
    produced.length = 0;
    tracing.reset();
  });
  afterAll(async () => {
    await service.close();
    await tracing.shutdown();
  });

  it('emit: the PRODUCER span travels in the record headers and parents the CONSUMER span', async () => {
    const tracingService = service.get(TracingService);
    await tracingService.startActiveSpan('checkout', () =>
      (client as unknown as { dispatchEvent(packet: object): Promise<unknown> }).dispatchEvent({
        pattern: 'orders.created',
        data: { id: 1 },
      }),
    );
    expect(produced).toHaveLength(1);
    const [record] = produced;
    expect(record.topic).toBe('orders.created');
    expect(JSON.parse(String(record.messages[0].value))).toEqual({ id: 1 });
    const producer = tracing.expectSpan('send orders.created', {
      kind: SpanKind.PRODUCER,
      parent: 'checkout',
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders.created' },
    });
    expect(record.messages[0].headers.traceparent).toBe(
      `00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`,
    );

    await server.handleMessage(eachMessagePayload(record, '41') as never);
    expect(handled).toEqual([{ id: 1 }]);
    const consumer = tracing.expectSpan('process orders.created', {
      kind: SpanKind.CONSUMER,
      parent: producer,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'orders.created',
        'messaging.destination.partition.id': '2',
        'messaging.kafka.offset': 41,
        'messaging.kafka.message.key': 'order-1',
        'nestjs.handler': 'created',
      },
    });
    tracing.expectSpan('OrdersStore.save', { parent: consumer });
  });

  it('keeps the headers of a record the app built, and its value', async () => {
    await (client as unknown as { dispatchEvent(packet: object): Promise<unknown> }).dispatchEvent({
      pattern: 'orders.created',
      data: { key: 'k', value: { id: 2 }, headers: { tenant: 'acme' } },
    });
    const [message] = produced[0].messages;
    expect(message.headers).toMatchObject({ tenant: 'acme', traceparent: expect.any(String) });
    expect(JSON.parse(String(message.value))).toEqual({ id: 2 });
  });

  it('a request with a reply topic gets a SERVER span that ends when the reply is produced', async () => {
    const request: ProducedRecord = {
      topic: 'orders.get',
      messages: [
        {
          value: '3',
          headers: {
            kafka_correlationId: 'c-1',
            kafka_replyTopic: 'orders.get.reply',
            kafka_replyPartition: '0',
            traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          },
        },
      ],
    };
    await server.handleMessage(eachMessagePayload(request, '7') as never);
    await tracing.waitForSpans('process orders.get');
    // Nest produces the reply on a later tick than the span ends (with the reply stream).
    for (let tick = 0; tick < 100 && produced.length === 0; tick++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(produced.map((record) => record.topic)).toEqual(['orders.get.reply']);
    const span = tracing.expectSpan('process orders.get', {
      kind: SpanKind.SERVER,
      status: SpanStatusCode.UNSET,
      attributes: { 'nestjs.handler': 'get' },
    });
    expect(span.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });
});
