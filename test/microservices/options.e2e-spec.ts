import { Transport, type ClientProvider, type MicroserviceOptions } from '@nestjs/microservices';
import { SpanKind } from '@opentelemetry/api';
import type { TracingModuleOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { freePort } from '../helpers';
import { startSystem, type System } from './apps';

const tracing = setupTestTracing();
afterAll(() => tracing.shutdown());

describe('microservice options (over TCP)', () => {
  let system: System | undefined;

  afterEach(async () => {
    await system?.close();
    system = undefined;
    tracing.reset();
  });

  async function start(options: TracingModuleOptions): Promise<string> {
    const transport = { transport: Transport.TCP, options: { host: '127.0.0.1', port: await freePort() } };
    system = await startSystem(transport as MicroserviceOptions, transport as ClientProvider, options);
    return system.url;
  }

  const messageSpans = () =>
    tracing.getFinishedSpans().filter((span) => span.attributes['nestjs.transport'] !== undefined);

  it('ignore: no span on either side for an ignored pattern, nor below it; the others traced', async () => {
    const url = await start({ microservices: { ignore: [/^users\.g/] } });
    expect((await fetch(`${url}/gateway/users/1`)).status).toBe(200);
    await fetch(`${url}/gateway/fail`);
    await tracing.waitForSpans('GET /gateway/fail');
    expect(
      messageSpans()
        .map((span) => span.name)
        .sort(),
    ).toEqual(['process users.fail', 'send users.fail']);
    // Nothing the ignored message's handler calls is traced either.
    expect(tracing.findSpan('UsersStore.find')).toBeUndefined();
  });

  it('trustIncomingContext false: the server span starts a new trace and links to the sender', async () => {
    const url = await start({ microservices: { trustIncomingContext: false } });
    await fetch(`${url}/gateway/users/1`);
    await tracing.waitForSpans('GET /gateway/users/:id');
    const client = tracing.expectSpan('send users.get', { kind: SpanKind.CLIENT });
    const server = tracing.expectSpan('process users.get', { kind: SpanKind.SERVER, parent: null });
    expect(server.spanContext().traceId).not.toBe(client.spanContext().traceId);
    expect(server.links.map((link) => link.context.spanId)).toEqual([client.spanContext().spanId]);
  });

  it('messageHook: attributes on both sides; a throwing hook changes nothing else', async () => {
    const url = await start({
      microservices: {
        messageHook: (span, message) => {
          span.setAttribute('message.side', message.context === undefined ? 'client' : 'server');
          if (message.pattern === 'users.fail') {
            throw new Error('hook failed');
          }
        },
      },
    });
    expect((await fetch(`${url}/gateway/users/1`)).status).toBe(200);
    await tracing.waitForSpans('GET /gateway/users/:id');
    tracing.expectSpan('send users.get', { attributes: { 'message.side': 'client' } });
    tracing.expectSpan('process users.get', { attributes: { 'message.side': 'server' } });
    expect(await (await fetch(`${url}/gateway/fail`)).json()).toEqual({ error: 'no such user' });
    await tracing.waitForSpans('process users.fail');
  });

  it('enabled false: no message spans, and the messages go through', async () => {
    const url = await start({ microservices: { enabled: false } });
    expect(await (await fetch(`${url}/gateway/users/3`)).json()).toMatchObject({ id: 3 });
    await tracing.waitForSpans('GET /gateway/users/:id');
    expect(messageSpans()).toEqual([]);
  });
});
