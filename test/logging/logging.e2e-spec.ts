import { Controller, Get, Logger, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import { traceLogFields, TracingLogger, TracingModule, type TracingLoggerOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';

@Controller('orders')
class OrdersController {
  private readonly logger = new Logger(OrdersController.name);

  @Get(':id')
  find() {
    this.logger.log('looking up the order');
    return traceLogFields();
  }
}

@Module({ imports: [TracingModule.forRoot()], controllers: [OrdersController] })
class OrdersModule {}

const tracing = setupTestTracing();

describe('log correlation', () => {
  let app: INestApplication | undefined;
  let written: string[];
  let restore: () => void;

  beforeEach(() => {
    written = [];
    const write = process.stdout.write.bind(process.stdout) as (chunk: Uint8Array) => boolean;
    // Nest's logger writes strings; anything else (a test runner reporting through
    // stdout from a child process) goes on to stdout.
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      if (typeof chunk !== 'string') {
        return write(chunk);
      }
      written.push(chunk);
      return true;
    });
    restore = () => spy.mockRestore();
  });
  afterEach(async () => {
    restore();
    await app?.close();
    app = undefined;
    tracing.reset();
  });
  afterAll(() => tracing.shutdown());

  async function start(options: TracingLoggerOptions): Promise<string> {
    app = await NestFactory.create(OrdersModule, { logger: new TracingLogger({ ...options, colors: false }) });
    await app.listen(0, '127.0.0.1');
    return (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }

  const linesWith = (text: string) => written.filter((line) => line.includes(text));

  it('JSON mode: trace_id, span_id and trace_flags as fields inside a request, none outside', async () => {
    const url = await start({ json: true });
    const body = (await (await fetch(`${url}/orders/1`)).json()) as Record<string, string>;
    const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
    const [line] = linesWith('looking up the order').map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(line).toMatchObject({
      level: 'log',
      context: 'OrdersController',
      message: 'looking up the order',
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
      trace_flags: '01',
    });
    expect(body).toEqual({
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
      trace_flags: '01',
    });
    const [bootstrap] = linesWith('Nest application successfully started').map(
      (text) => JSON.parse(text) as Record<string, unknown>,
    );
    expect(bootstrap).toBeDefined();
    expect(bootstrap.trace_id).toBeUndefined();
  });

  it('text mode: the ids after the context, and nothing outside a request', async () => {
    const url = await start({});
    await (await fetch(`${url}/orders/1`)).arrayBuffer();
    const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
    const { traceId, spanId } = span.spanContext();
    expect(linesWith('looking up the order')[0]).toContain(
      `[OrdersController] trace_id=${traceId} span_id=${spanId} looking up the order`,
    );
    expect(linesWith('Nest application successfully started')[0]).not.toContain('trace_id=');
  });

  it('spanEvents: each line logged in a request is a log event on its span', async () => {
    const url = await start({ spanEvents: true });
    await (await fetch(`${url}/orders/1`)).arrayBuffer();
    const [span] = await tracing.waitForSpans((candidate) => candidate.kind === SpanKind.SERVER);
    expect(span.events.map((event) => [event.name, event.attributes])).toEqual([
      ['log', { 'log.level': 'log', 'log.message': 'looking up the order', 'log.context': 'OrdersController' }],
    ]);
  });

  it('traceLogFields() is empty outside a span', () => {
    expect(traceLogFields()).toEqual({});
  });
});
