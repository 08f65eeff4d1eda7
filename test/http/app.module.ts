import {
  Body,
  CanActivate,
  Controller,
  Get,
  Inject,
  Injectable,
  InternalServerErrorException,
  MessageEvent,
  Module,
  NestMiddleware,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  Query,
  Scope,
  Sse,
  StreamableFile,
  UseGuards,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { REQUEST, RouterModule } from '@nestjs/core';
import { trace, type Span } from '@opentelemetry/api';
import { CurrentSpan, Traced, TracingModule, TracingService, type TracingModuleOptions } from 'nestjs-tracing';
import { Readable } from 'node:stream';
import { interval, map, type Observable } from 'rxjs';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The span id active where it is called, or `null`. */
const activeSpanId = () => trace.getActiveSpan()?.spanContext().spanId ?? null;

/** What the middleware and the guard saw, per request, keyed by the request's `x-test-id`. */
export const seen = new Map<string, { middleware?: string | null; guard?: string | null }>();

/** Records which span is active in a class middleware. */
@Injectable()
export class SeenMiddleware implements NestMiddleware {
  use(request: { headers: Record<string, string | undefined> }, _response: unknown, next: () => void): void {
    const id = request.headers['x-test-id'];
    if (id !== undefined) {
      seen.set(id, { ...seen.get(id), middleware: activeSpanId() });
    }
    next();
  }
}

/** Records which span is active in a guard; lets through unless `x-deny` is sent. */
@Injectable()
class SeenGuard implements CanActivate {
  canActivate(context: import('@nestjs/common').ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const id = request.headers['x-test-id'];
    if (id !== undefined) {
      seen.set(id, { ...seen.get(id), guard: activeSpanId() });
    }
    return request.headers['x-deny'] === undefined;
  }
}

@Injectable()
export class UsersService {
  @Traced()
  async findOne(id: string) {
    await sleep(1);
    return { id, name: `user ${id}` };
  }
}

/** A REQUEST-scoped provider: built anew for every request. */
@Injectable({ scope: Scope.REQUEST })
export class RequestInfo {
  constructor(@Inject(REQUEST) private readonly request: { headers: Record<string, string | undefined> }) {}

  userAgent(): string | undefined {
    return this.request.headers['user-agent'];
  }
}

@Controller('users')
@UseGuards(SeenGuard)
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly tracing: TracingService,
  ) {}

  @Get(':id')
  async find(@Param('id') id: string, @CurrentSpan() span: Span) {
    const user = await this.users.findOne(id);
    return {
      ...user,
      spanId: span.spanContext().spanId,
      activeSpanId: this.tracing.getActiveSpan()?.spanContext().spanId,
      traceId: this.tracing.getTraceId(),
    };
  }

  @Post()
  create(@Body() body: { name: string }) {
    return { name: body.name, handlerSpanId: activeSpanId() };
  }

  /** Answers without reading the (octet-stream) body. */
  @Post('upload')
  upload() {
    return { stored: false };
  }

  @Get(':id/number')
  byNumber(@Param('id', ParseIntPipe) id: number) {
    return { id };
  }

  @Get(':id/fail')
  fail(): never {
    throw new Error('database is down');
  }

  @Get(':id/gone')
  gone(): never {
    throw new NotFoundException('no such user');
  }

  @Get(':id/unavailable')
  unavailable(): never {
    throw new InternalServerErrorException('try later');
  }
}

@Controller({ path: 'orders', version: '1' })
export class OrdersController {
  @Get(':orderId/items/:itemId')
  item(@Param('orderId') orderId: string, @Param('itemId') itemId: string, @Query('token') _token?: string) {
    return { orderId, itemId };
  }
}

/** Streamed answers: SSE and a file. */
@Controller('stream')
export class StreamController {
  @Sse('events')
  events(): Observable<MessageEvent> {
    return interval(10).pipe(map((count) => ({ data: { count } })));
  }

  @Get('file')
  file(): StreamableFile {
    return new StreamableFile(Readable.from(['a', 'b', 'c']));
  }
}

@Controller('scoped')
export class ScopedController {
  constructor(private readonly info: RequestInfo) {}

  @Get()
  get(@CurrentSpan() span: Span) {
    return { userAgent: this.info.userAgent(), recording: span.isRecording() };
  }
}

@Controller('health')
export class HealthController {
  constructor(private readonly users: UsersService) {}

  @Get()
  async check() {
    await this.users.findOne('health');
    return { ok: true };
  }
}

@Controller('reports')
export class ReportsController {
  @Get(':reportId')
  get(@Param('reportId') reportId: string) {
    return { reportId };
  }
}

/** Mounted under `/admin` by `RouterModule`: a nested controller. */
@Module({ controllers: [ReportsController] })
export class AdminModule {}

@Module({})
export class HttpAppModule implements NestModule {
  static with(options: TracingModuleOptions = {}): DynamicModule {
    return {
      module: HttpAppModule,
      imports: [
        TracingModule.forRoot(options),
        AdminModule,
        RouterModule.register([{ path: 'admin', module: AdminModule }]),
      ],
      controllers: [UsersController, OrdersController, StreamController, ScopedController, HealthController],
      providers: [UsersService, RequestInfo, SeenGuard],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(SeenMiddleware).forRoutes('*path');
  }
}
