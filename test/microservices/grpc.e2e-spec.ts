import { Controller, Get, Inject, Module, Param, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientsModule,
  GrpcMethod,
  RpcException,
  Transport,
  type ClientGrpc,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { TracingModule } from 'nestjs-tracing';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { join } from 'node:path';
import { firstValueFrom, type Observable } from 'rxjs';
import { freePort, PROTO_DIR } from '../helpers';
import { UsersStore } from './apps';

const PROTO = join(PROTO_DIR, 'users.proto');

interface User {
  id: number;
  name: string;
  spanId?: string;
}

interface UsersGrpc {
  getUser(request: { id: number }): Observable<User>;
  failUser(request: { id: number }): Observable<User>;
}

@Controller()
class UsersGrpcController {
  constructor(private readonly store: UsersStore) {}

  @GrpcMethod('UsersService', 'GetUser')
  async getUser({ id }: { id: number }): Promise<User> {
    const user = await this.store.find(id);
    return { ...user, spanId: trace.getActiveSpan()?.spanContext().spanId };
  }

  @GrpcMethod('UsersService', 'FailUser')
  failUser(): never {
    throw new RpcException({ code: 5, message: 'no such user' });
  }
}

@Module({ imports: [TracingModule.forRoot()], controllers: [UsersGrpcController], providers: [UsersStore] })
class UsersGrpcModule {}

@Controller('gateway')
class GrpcGatewayController implements OnModuleInit {
  private users!: UsersGrpc;

  constructor(@Inject('USERS') private readonly client: ClientGrpc) {}

  onModuleInit(): void {
    this.users = this.client.getService<UsersGrpc>('UsersService');
  }

  @Get('users/:id')
  get(@Param('id') id: string) {
    return firstValueFrom(this.users.getUser({ id: Number(id) }));
  }

  @Get('fail')
  async fail() {
    try {
      return await firstValueFrom(this.users.failUser({ id: 1 }));
    } catch (error) {
      return { code: (error as { code?: number }).code };
    }
  }
}

const tracing = setupTestTracing();

describe('one trace from an HTTP gateway through gRPC', () => {
  let close: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    const grpcUrl = `127.0.0.1:${await freePort()}`;
    const options = { package: 'users', protoPath: PROTO, url: grpcUrl };
    const service = await NestFactory.createMicroservice<MicroserviceOptions>(UsersGrpcModule, {
      transport: Transport.GRPC,
      options,
      logger: false,
    });
    await service.listen();
    @Module({
      imports: [
        TracingModule.forRoot(),
        ClientsModule.register([{ name: 'USERS', transport: Transport.GRPC, options }]),
      ],
      controllers: [GrpcGatewayController],
    })
    class GrpcGatewayModule {}
    const gateway = await NestFactory.create(GrpcGatewayModule, { logger: false });
    await gateway.listen(0, '127.0.0.1');
    url = (await gateway.getUrl()).replace('[::1]', '127.0.0.1');
    close = async () => {
      await gateway.close();
      await service.close();
    };
  });
  afterEach(() => tracing.reset());
  afterAll(async () => {
    await close?.();
    await tracing.shutdown();
  });

  it('HTTP SERVER -> gRPC CLIENT -> gRPC SERVER -> provider, by the RPC conventions', async () => {
    const response = await fetch(`${url}/gateway/users/5`);
    const body = (await response.json()) as User;
    expect(body).toMatchObject({ id: 5, name: 'user 5' });
    const [http] = await tracing.waitForSpans('GET /gateway/users/:id');
    const client = tracing.expectSpan((span) => span.kind === SpanKind.CLIENT, {
      parent: http,
      attributes: {
        'rpc.system.name': 'grpc',
        'rpc.method': 'users.UsersService/GetUser',
        'rpc.status_code': '0',
        'nestjs.transport': 'grpc',
      },
    });
    expect(client.name).toBe('users.UsersService/GetUser');
    const server = tracing.expectSpan((span) => span.kind === SpanKind.SERVER && span !== http, {
      parent: client,
      status: SpanStatusCode.UNSET,
      attributes: {
        'rpc.system.name': 'grpc',
        'rpc.method': 'users.UsersService/GetUser',
        'nestjs.controller': 'UsersGrpcController',
        'nestjs.handler': 'getUser',
      },
    });
    expect(server.name).toBe('users.UsersService/GetUser');
    expect(body.spanId).toBe(server.spanContext().spanId);
    tracing.expectSpan('UsersStore.find', { parent: server });
    expect(new Set(tracing.getFinishedSpans().map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(tracing.getFinishedSpans()).toHaveLength(4);
  });

  it('an RpcException marks the server span and the client span (with its status code) ERROR', async () => {
    expect(await (await fetch(`${url}/gateway/fail`)).json()).toEqual({ code: 5 });
    await tracing.waitForSpans('GET /gateway/fail');
    tracing.expectSpan((span) => span.kind === SpanKind.CLIENT, {
      status: SpanStatusCode.ERROR,
      attributes: { 'rpc.method': 'users.UsersService/FailUser', 'rpc.status_code': '5' },
    });
    tracing.expectSpan((span) => span.kind === SpanKind.SERVER && span.name === 'users.UsersService/FailUser', {
      status: SpanStatusCode.ERROR,
      attributes: { 'error.type': 'RpcException' },
    });
  });
});
