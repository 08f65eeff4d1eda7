import {
  CanActivate,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  Post,
  UseGuards,
  type DynamicModule,
  type INestApplication,
  type INestMicroservice,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientsModule,
  Ctx,
  EventPattern,
  MessagePattern,
  Payload,
  RpcException,
  type ClientProvider,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { trace } from '@opentelemetry/api';
import { Traced, TracingModule, type TracingModuleOptions } from 'nestjs-tracing';
import { firstValueFrom } from 'rxjs';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Events the service received, by the id in their payload. */
export const receivedEvents = new Map<string, unknown>();

@Injectable()
export class UsersStore {
  @Traced()
  async find(id: number) {
    await sleep(1);
    return { id, name: `user ${id}` };
  }

  @Traced()
  record(event: { id: string }) {
    receivedEvents.set(event.id, event);
  }
}

/** Rejects every message it guards. */
@Injectable()
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** The microservice: the same handlers on every transport. */
@Controller()
export class UsersMessageController {
  constructor(private readonly store: UsersStore) {}

  @MessagePattern('users.get')
  async get(@Payload() id: number) {
    const user = await this.store.find(id);
    return { ...user, spanId: trace.getActiveSpan()?.spanContext().spanId };
  }

  @MessagePattern('users.fail')
  fail(): never {
    throw new RpcException('no such user');
  }

  @MessagePattern('users.guarded')
  @UseGuards(DenyGuard)
  guarded() {
    return 'unreachable';
  }

  @EventPattern('users.created')
  created(@Payload() event: { id: string }, @Ctx() _context: unknown) {
    this.store.record(event);
  }
}

@Module({})
export class UsersServiceModule {
  static with(options: TracingModuleOptions = {}): DynamicModule {
    return {
      module: UsersServiceModule,
      imports: [TracingModule.forRoot(options)],
      controllers: [UsersMessageController],
      providers: [UsersStore, DenyGuard],
    };
  }
}

export const USERS_CLIENT = 'USERS_CLIENT';

/** The HTTP gateway: each route sends a message or emits an event to the service. */
@Controller('gateway')
export class GatewayController {
  constructor(@Inject(USERS_CLIENT) private readonly client: ClientProxy) {}

  @Get('users/:id')
  get(@Param('id') id: string) {
    return firstValueFrom(this.client.send('users.get', Number(id)));
  }

  @Get('fail')
  fail() {
    return this.sendCatching('users.fail');
  }

  @Get('guarded')
  guarded() {
    return this.sendCatching('users.guarded');
  }

  /** Sends `pattern` and answers with the reply, or with the error that came back. */
  private async sendCatching(pattern: string) {
    try {
      return await firstValueFrom(this.client.send(pattern, 1));
    } catch (error) {
      return { error: (error as { message?: string }).message ?? String(error) };
    }
  }

  @Post('events/:id')
  async emit(@Param('id') id: string) {
    await firstValueFrom(this.client.emit('users.created', { id }), { defaultValue: undefined });
    return { sent: id };
  }
}

function gatewayModule(client: ClientProvider, options: TracingModuleOptions): DynamicModule {
  return {
    module: GatewayModule,
    imports: [TracingModule.forRoot(options), ClientsModule.register([{ name: USERS_CLIENT, ...client } as never])],
    controllers: [GatewayController],
  };
}

@Module({})
class GatewayModule {}

/** A running service and gateway. */
export interface System {
  service: INestMicroservice;
  gateway: INestApplication;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the service on `server` options and a gateway whose client uses `client`
 * options, both with `TracingModule.forRoot(tracingOptions)`.
 */
export async function startSystem(
  server: MicroserviceOptions,
  client: ClientProvider,
  tracingOptions: TracingModuleOptions = {},
): Promise<System> {
  const service = await NestFactory.createMicroservice<MicroserviceOptions>(UsersServiceModule.with(tracingOptions), {
    ...server,
    logger: false,
  });
  await service.listen();
  const gateway = await NestFactory.create(gatewayModule(client, tracingOptions), { logger: false });
  await gateway.listen(0, '127.0.0.1');
  const url = (await gateway.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    service,
    gateway,
    url,
    async close() {
      await gateway.close();
      await service.close();
    },
  };
}
