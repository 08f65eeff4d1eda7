import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  Headers,
  Inject,
  Injectable,
  Module,
  Post,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
  type INestMicroservice,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  ClientsModule,
  MessagePattern,
  Payload,
  RpcException,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  context as contextApi,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Traced, tracingInstrument, TracingModule, type TracingModuleOptions } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { firstValueFrom } from 'rxjs';
import { freePort } from '../helpers';

/**
 * Nothing sensitive leaves in a span: credentials in headers (`authorization`,
 * `cookie`, `set-cookie`, `proxy-authorization`), request and response bodies,
 * message payloads and replies, and secret-looking query values, under every option
 * that records more (header lists naming those headers, extra redacted keys, links,
 * every automatic span). Every exported string (span names, attributes, events and
 * their attributes, links, status messages, trace state) is searched for each secret.
 * And `trustIncomingContext: false` never adopts the caller's parent or its sampling
 * decision, over HTTP and over a microservice transport.
 */

const run = randomUUID().replaceAll('-', '').slice(0, 10);
/** A marker that cannot be mistaken for anything else, and that no encoding changes. */
const secret = (name: string): string => `S3CR3T${name.toUpperCase().replace(/[^A-Z0-9]/g, '')}X${run}`;

const SECRETS = {
  authorization: secret('authorization'),
  cookie: secret('cookie'),
  otherCookie: secret('othercookie'),
  proxyAuthorization: secret('proxyauthorization'),
  setCookie: secret('setcookie'),
  requestBody: secret('requestbody'),
  responseBody: secret('responsebody'),
  rejected: secret('rejected'),
  userinfo: secret('userinfo'),
  payload: secret('payload'),
  reply: secret('reply'),
  rpcError: secret('rpcerror'),
  metadata: secret('metadata'),
  thrownObject: secret('thrownobject'),
};

/** Query keys whose values are secrets by the built-in list (README: "Secrets in query strings"). */
const SECRET_QUERY_KEYS = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'TOKEN',
  'AccessToken',
  'tok%65n',
  'access%5Ftoken',
  'user[password]',
  'password',
  'Password',
  'passwd',
  'secret',
  'client_secret',
  'api_key',
  'Api_Key',
  'apikey',
  'api-key',
  'x-api-key',
  'auth',
  'authorization',
  'key',
  'KEY',
  'sig',
  'signature',
  'code',
  'credential',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'x-amz-signature',
  'X-Goog-Signature',
  'X-Goog-Credential',
  'AWSAccessKeyId',
];
/** Keys an app adds with `redactQueryParams`. */
const EXTRA_QUERY_KEYS = ['session', 'SSN'];

/** `?page=2&token=…&…`: every key with a secret value of its own; a key twice; a value with `=` in it. */
function secretQuery(keys: readonly string[]): { query: string; secrets: string[] } {
  const secrets: string[] = [];
  const pairs = ['page=2'];
  keys.forEach((key, index) => {
    const value = secret(`query${index}`);
    secrets.push(value);
    pairs.push(`${key}=${value}`);
  });
  const twice = secret('querytwice');
  const withEquals = secret('queryequals');
  secrets.push(twice, withEquals);
  pairs.push(`token=${twice}`, `sig=a=${withEquals}`, 'sort=asc');
  return { query: pairs.join('&'), secrets };
}

const BASIC = Buffer.from(`proxyuser:${SECRETS.proxyAuthorization}`).toString('base64');
const CREDENTIAL_HEADERS = {
  authorization: `Bearer ${SECRETS.authorization}`,
  cookie: `session=${SECRETS.cookie}; theme=${SECRETS.otherCookie}`,
  'proxy-authorization': `Basic ${BASIC}`,
  'x-request-id': 'req-1',
};

// ---------------------------------------------------------------------------------
// The app.
// ---------------------------------------------------------------------------------

const ACCOUNTS_CLIENT = 'ACCOUNTS_CLIENT';

@Injectable()
class AccountsService {
  @Traced()
  async login(credentials: { user: string; password: string }) {
    await Promise.resolve();
    return { user: credentials.user, token: SECRETS.responseBody };
  }

  @Traced()
  profile(authorization: string | undefined) {
    return { authorized: authorization !== undefined, token: SECRETS.responseBody };
  }
}

/** Lets a request through unless it sends `x-deny`. */
@Injectable()
class AccountsGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return (
      context.getType() !== 'http' ||
      context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['x-deny'] === undefined
    );
  }
}

const SET_COOKIE = `sid=${SECRETS.setCookie}; HttpOnly`;

@Controller('account')
@UseGuards(AccountsGuard)
class AccountsController {
  constructor(
    private readonly accounts: AccountsService,
    @Inject(ACCOUNTS_CLIENT) private readonly client: ClientProxy,
  ) {}

  @Get('me')
  @Header('Set-Cookie', SET_COOKIE)
  me(@Headers('authorization') authorization: string | undefined) {
    return this.accounts.profile(authorization);
  }

  @Post('login')
  @Header('Set-Cookie', SET_COOKIE)
  login(@Body() body: { user: string; password: string }) {
    return this.accounts.login(body);
  }

  @Get('fail')
  fail(): never {
    throw new Error('database is down');
  }

  /** A client error whose response (not its message) holds what the client sent. */
  @Post('reject')
  reject(@Body() body: { password: string }): never {
    throw new BadRequestException({ message: 'invalid input', password: body.password, echo: SECRETS.rejected });
  }

  /** Sends a message with a secret payload to the app's own TCP microservice. */
  @Get('relay')
  relay() {
    return firstValueFrom(this.client.send('account.check', { password: SECRETS.payload }));
  }

  @Get('relay-fail')
  async relayFail() {
    try {
      return await firstValueFrom(this.client.send('account.reject', { password: SECRETS.payload }));
    } catch {
      return { rejected: true };
    }
  }

  /** What the handler sees of the caller's baggage. */
  @Get('baggage')
  baggage() {
    return { baggage: propagation.getActiveBaggage()?.getAllEntries().length ?? 0 };
  }

  /** Throws a plain object (no message) that holds a credential, as some clients reject with. */
  @Get('thrown-object')
  thrownObject(): never {
    throw { code: 'E_AUTH', request: { headers: { authorization: `Bearer ${SECRETS.thrownObject}` } } };
  }

  @MessagePattern('account.check')
  check(@Payload() data: { password?: string }) {
    return { ok: data.password !== undefined, token: SECRETS.reply, baggage: baggageEntries() };
  }

  @MessagePattern('account.reject')
  rejectMessage(@Payload() data: { password?: string }): never {
    throw new RpcException({ message: 'denied', password: data.password, token: SECRETS.rpcError });
  }

  @MessagePattern('account.thrown-object')
  thrownObjectMessage(): never {
    throw { code: 'E_AUTH', token: SECRETS.thrownObject };
  }
}

const baggageEntries = (): number => propagation.getActiveBaggage()?.getAllEntries().length ?? 0;

@Module({})
class AccountsModule {
  static with(options: TracingModuleOptions, tcpPort: number): DynamicModule {
    return {
      module: AccountsModule,
      imports: [
        TracingModule.forRoot(options),
        ClientsModule.register([
          { name: ACCOUNTS_CLIENT, transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } },
        ]),
      ],
      controllers: [AccountsController],
      providers: [AccountsService, AccountsGuard],
    };
  }
}

interface RunningApp {
  app: INestApplication;
  url: string;
  /** The HTTP port. */
  port: number;
  /** The port of the app's own TCP microservice. */
  tcpPort: number;
}

/** An app with its own TCP microservice (hybrid), on loopback. */
async function startApp(adapter: 'express' | 'fastify', options: TracingModuleOptions): Promise<RunningApp> {
  const tcpPort = await freePort();
  const app = await NestFactory.create(
    AccountsModule.with(options, tcpPort),
    adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
    { logger: false, instrument: tracingInstrument() },
  );
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: tcpPort },
  });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, port: Number(new URL(url).port), tcpPort };
}

// ---------------------------------------------------------------------------------
// Searching what is exported.
// ---------------------------------------------------------------------------------

/** Every string a span exports, each with where it is. */
function exportedStrings(span: ReadableSpan): [string, string][] {
  const strings: [string, string][] = [['name', span.name]];
  const addAttributes = (where: string, attributes: Attributes | undefined) => {
    for (const [key, value] of Object.entries(attributes ?? {})) {
      strings.push([`${where} key`, key]);
      for (const item of Array.isArray(value) ? value : [value]) {
        strings.push([`${where} ${key}`, String(item)]);
      }
    }
  };
  addAttributes('attribute', span.attributes);
  for (const event of span.events) {
    strings.push(['event name', event.name]);
    addAttributes(`event ${event.name}`, event.attributes);
  }
  span.links.forEach((link, index) => {
    addAttributes(`link ${index}`, link.attributes);
    strings.push([`link ${index} tracestate`, link.context.traceState?.serialize() ?? '']);
  });
  strings.push(['status message', span.status.message ?? '']);
  strings.push(['tracestate', span.spanContext().traceState?.serialize() ?? '']);
  addAttributes('resource', span.resource.attributes);
  return strings;
}

/** `span "name" where: secret` for every secret found in an exported string. */
function leaks(spans: readonly ReadableSpan[], secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const span of spans) {
    for (const [where, text] of exportedStrings(span)) {
      for (const value of secrets) {
        if (text.toLowerCase().includes(value.toLowerCase())) {
          found.push(`span "${span.name}" ${where}: ${value}`);
        }
      }
    }
  }
  return found;
}

/** Every secret this suite sends, as sent: the markers, and whole header values (the Basic one is base64). */
const HEADER_SECRETS = [...Object.values(SECRETS), BASIC, CREDENTIAL_HEADERS.authorization, SET_COOKIE];

interface Answer {
  status: number;
  body: string;
}

/** A request in the absolute form, with credentials in its userinfo (`GET http://user:pass@host/...`). */
function getAbsoluteForm(port: number, target: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path: target, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

// ---------------------------------------------------------------------------------
// Every option that records more.
// ---------------------------------------------------------------------------------

const EVERY_CREDENTIAL_HEADER = [
  'authorization',
  'Authorization',
  'cookie',
  'COOKIE',
  'set-cookie',
  'Set-Cookie',
  'proxy-authorization',
  'Proxy-Authorization',
];

const OPTION_SETS: [string, TracingModuleOptions][] = [
  ['the defaults', {}],
  [
    'header lists naming every credential header',
    {
      http: {
        requestHeaders: [...EVERY_CREDENTIAL_HEADER, 'x-request-id'],
        responseHeaders: [...EVERY_CREDENTIAL_HEADER, 'content-type'],
      },
    },
  ],
  [
    'extra redacted keys and header lists',
    {
      http: {
        redactQueryParams: EXTRA_QUERY_KEYS,
        requestHeaders: [...EVERY_CREDENTIAL_HEADER, 'x-request-id'],
        responseHeaders: [...EVERY_CREDENTIAL_HEADER, 'content-type'],
      },
    },
  ],
  [
    'untrusted incoming context (links) and header lists',
    {
      http: { trustIncomingContext: false, requestHeaders: [...EVERY_CREDENTIAL_HEADER, 'x-request-id'] },
      microservices: { trustIncomingContext: false },
    },
  ],
  [
    'every automatic span',
    {
      http: { requestHeaders: [...EVERY_CREDENTIAL_HEADER, 'x-request-id'] },
      autoInstrument: {
        guards: true,
        pipes: true,
        interceptors: true,
        filters: true,
        middleware: true,
        handlers: true,
        providers: true,
      },
    },
  ],
];

const tracing = setupTestTracing();
afterAll(() => tracing.shutdown());
afterEach(() => tracing.reset());

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe.each(OPTION_SETS)('with %s', (_name, options) => {
  const extraKeys = options.http?.redactQueryParams !== undefined;
  const recordsHeaders = (options.http?.requestHeaders?.length ?? 0) > 0;

  describe.each(['express', 'fastify'] as const)('on %s', (adapter) => {
    let running: RunningApp;

    beforeAll(async () => {
      running = await startApp(adapter, options);
    });
    afterAll(() => running?.app.close());

    it('exports no credential header, body, payload, reply or secret query value', async () => {
      const { query, secrets: querySecrets } = secretQuery(
        extraKeys ? [...SECRET_QUERY_KEYS, ...EXTRA_QUERY_KEYS] : SECRET_QUERY_KEYS,
      );
      const headers = { ...CREDENTIAL_HEADERS, traceparent: TRACEPARENT };
      const json = { ...headers, 'content-type': 'application/json' };
      const { url, port } = running;
      const answers = await Promise.all([
        fetch(`${url}/account/me?${query}`, { headers }),
        fetch(`${url}/account/login?${query}`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ user: 'alice', password: SECRETS.requestBody }),
        }),
        fetch(`${url}/account/fail?${query}`, { headers }),
        fetch(`${url}/account/reject?${query}`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ password: SECRETS.requestBody }),
        }),
        fetch(`${url}/account/me?${query}`, { headers: { ...headers, 'x-deny': '1' } }),
        fetch(`${url}/account/relay?${query}`, { headers }),
        fetch(`${url}/account/relay-fail?${query}`, { headers }),
        fetch(`${url}/no-such-route?${query}`, { headers }),
      ]);
      const statuses = answers.map((answer) => answer.status);
      const bodies = await Promise.all(answers.map((answer) => answer.text()));
      const absolute = await getAbsoluteForm(
        port,
        `http://alice:${SECRETS.userinfo}@127.0.0.1:${port}/account/me?${query}`,
        headers,
      );
      expect([...statuses, absolute.status]).toEqual([200, 201, 500, 400, 403, 200, 200, 404, expect.any(Number)]);
      // The secrets did travel: the app answered with them.
      expect(bodies[0]).toContain(SECRETS.responseBody);
      expect(answers[0].headers.get('set-cookie')).toContain(SECRETS.setCookie);
      expect(bodies[5]).toContain(SECRETS.reply);

      const spans = await tracing.waitForSpans(
        (span) => span.kind === SpanKind.SERVER && 'url.path' in span.attributes,
        9,
      );
      await tracing.waitForSpans('process account.reject');
      const all = tracing.getFinishedSpans();
      expect(leaks(all, [...HEADER_SECRETS, ...querySecrets])).toEqual([]);

      // What may be recorded still is: the query with its secrets redacted, the listed harmless headers.
      const me = spans.find((span) => span.attributes['http.route'] === '/account/me' && span.status.code === 0);
      expect(me?.attributes['url.query']).toEqual(expect.stringContaining('page=2&token=REDACTED'));
      expect(me?.attributes['url.query']).toEqual(expect.stringContaining('&sort=asc'));
      if (recordsHeaders) {
        expect(me?.attributes['http.request.header.x-request-id']).toEqual(['req-1']);
      }
      if (options.http?.responseHeaders !== undefined) {
        expect(me?.attributes['http.response.header.content-type']).toEqual([expect.stringContaining('json')]);
      }
      const absoluteSpan = spans.find((span) => span.attributes['url.path'] === '/account/me' && span !== me);
      expect(absoluteSpan).toBeDefined();
    });
  });
});

/** A plain object thrown (no `message`), as some clients reject with: whatever options, its content is the app's data. */
describe.each(['express', 'fastify'] as const)('a thrown plain object, on %s', (adapter) => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp(adapter, {});
  });
  afterAll(() => running?.app.close());

  it("exports nothing of a thrown plain object's content (it has no message)", async () => {
    const answer = await fetch(`${running.url}/account/thrown-object`, { headers: CREDENTIAL_HEADERS });
    expect(answer.status).toBe(500);
    await tracing.waitForSpans((span) => span.attributes['http.route'] === '/account/thrown-object');
    const client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: running.tcpPort },
    });
    await expect(firstValueFrom(client.send('account.thrown-object', {}))).rejects.toBeDefined();
    await client.close();
    await tracing.waitForSpans('process account.thrown-object');
    expect(leaks(tracing.getFinishedSpans(), [SECRETS.thrownObject])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------
// trustIncomingContext: false
// ---------------------------------------------------------------------------------

const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';

/** A span that adopted nothing of the caller: a new root, sampled by the local sampler (always on), at most a link to the caller. */
function expectNewRootLinkingAtMost(span: ReadableSpan, callerTraceId: string, callerSpanId?: string): void {
  expect(span.parentSpanContext).toBeUndefined();
  expect(span.spanContext().traceId).not.toBe(callerTraceId);
  expect(span.spanContext().traceFlags & TraceFlags.SAMPLED).toBe(TraceFlags.SAMPLED);
  expect(span.links.length).toBeLessThanOrEqual(1);
  for (const link of span.links) {
    expect(link.context.traceId).toBe(callerTraceId);
    if (callerSpanId !== undefined) {
      expect(link.context.spanId).toBe(callerSpanId);
    }
  }
}

const UNTRUSTING: [string, boolean | (() => boolean)][] = [
  ['false', false],
  ['a predicate answering false', () => false],
];

describe.each(UNTRUSTING)('HTTP with trustIncomingContext %s', (_name, trustIncomingContext) => {
  describe.each(['express', 'fastify'] as const)('on %s', (adapter) => {
    let running: RunningApp;

    beforeAll(async () => {
      running = await startApp(adapter, { http: { trustIncomingContext } });
    });
    afterAll(() => running?.app.close());

    it.each(['00', '01'])(
      'a caller sampled %s gets a new root sampled by the local sampler, no baggage, at most a link',
      async (flags) => {
        const answer = await fetch(`${running.url}/account/baggage`, {
          headers: {
            traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-${flags}`,
            baggage: 'user=alice,tenant=acme',
          },
        });
        expect(await answer.json()).toEqual({ baggage: 0 });
        const [span] = await tracing.waitForSpans('GET /account/baggage');
        expectNewRootLinkingAtMost(span, CALLER_TRACE_ID, CALLER_SPAN_ID);
        expect(answer.headers.get('traceresponse')).toBe(
          `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
        );
      },
    );
  });
});

@Controller()
class UntrustingService {
  @MessagePattern('account.check')
  check() {
    return { baggage: baggageEntries(), traceId: trace.getActiveSpan()?.spanContext().traceId };
  }
}

describe.each(UNTRUSTING)('TCP microservice with trustIncomingContext %s', (_name, trustIncomingContext) => {
  let service: INestMicroservice;
  let client: ClientProxy;

  beforeAll(async () => {
    const port = await freePort();
    @Module({
      imports: [TracingModule.forRoot({ microservices: { trustIncomingContext } })],
      controllers: [UntrustingService],
    })
    class UntrustingModule {}
    service = await NestFactory.createMicroservice<MicroserviceOptions>(UntrustingModule, {
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await service.listen();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  });
  afterAll(async () => {
    await client?.close();
    await service?.close();
  });

  it.each([
    ['00', TraceFlags.NONE],
    ['01', TraceFlags.SAMPLED],
  ])(
    'a sender sampled %s gets a new root sampled by the local sampler, no baggage, at most a link',
    async (_flags, traceFlags) => {
      // The sender's own context: a remote parent with that sampling decision, and baggage.
      const senderContext = propagation.setBaggage(
        trace.setSpanContext(ROOT_CONTEXT, {
          traceId: CALLER_TRACE_ID,
          spanId: CALLER_SPAN_ID,
          traceFlags,
          isRemote: true,
        }),
        propagation.createBaggage({ user: { value: 'alice' } }),
      );
      const reply = await contextApi.with(senderContext, () => firstValueFrom(client.send('account.check', {})));
      const [span] = await tracing.waitForSpans('process account.check');
      expect(reply).toEqual({ baggage: 0, traceId: span.spanContext().traceId });
      expect(span.kind).toBe(SpanKind.SERVER);
      expectNewRootLinkingAtMost(span, CALLER_TRACE_ID);
    },
  );
});
