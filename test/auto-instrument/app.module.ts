import {
  ArgumentsHost,
  CallHandler,
  CanActivate,
  Catch,
  Controller,
  ExceptionFilter,
  ExecutionContext,
  Get,
  Injectable,
  Module,
  NestInterceptor,
  NestMiddleware,
  NotFoundException,
  Param,
  PipeTransform,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { TracingModule, type TracingModuleOptions } from 'nestjs-tracing';
import type { Observable } from 'rxjs';

@Injectable()
export class ItemsGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/** A global guard, registered with `APP_GUARD`. */
@Injectable()
export class GlobalGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
export class TrimPipe implements PipeTransform {
  transform(value: unknown): unknown {
    return typeof value === 'string' ? value.trim() : value;
  }
}

@Injectable()
export class TimingInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Catch(NotFoundException)
export class NotFoundFilter implements ExceptionFilter {
  catch(exception: NotFoundException, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<{ status(code: number): { json(body: unknown): void } }>()
      .status(404)
      .json({ missing: exception.message });
  }
}

@Injectable()
export class ItemsMiddleware implements NestMiddleware {
  use(_request: unknown, _response: unknown, next: () => void): void {
    next();
  }
}

@Injectable()
export class ItemsService {
  find(id: string): { id: string } {
    if (id === '0') {
      throw new NotFoundException(`no item ${id}`);
    }
    return { id };
  }
}

/** Listens to `item.viewed`; counts what it heard. */
@Injectable()
export class ItemsListener {
  readonly heard: string[] = [];

  @OnEvent('item.viewed')
  onViewed(id: string): void {
    this.heard.push(id);
  }
}

/** A background job. */
@Injectable()
export class ItemsJobs {
  runs = 0;

  @Interval(25)
  tick(): void {
    this.runs++;
  }
}

@Controller('items')
@UseGuards(ItemsGuard)
@UseInterceptors(TimingInterceptor)
@UseFilters(NotFoundFilter)
export class ItemsController {
  constructor(
    private readonly items: ItemsService,
    private readonly events: EventEmitter2,
  ) {}

  @Get(':id')
  @UsePipes(TrimPipe)
  find(@Param('id') id: string) {
    const item = this.items.find(id);
    this.events.emit('item.viewed', id);
    return item;
  }
}

@Module({})
export class ItemsModule implements NestModule {
  /** Imports `TracingModule` first, as the README asks, so jobs are wrapped before they are scheduled. */
  static with(options: TracingModuleOptions): DynamicModule {
    return {
      module: ItemsModule,
      imports: [TracingModule.forRoot(options), ScheduleModule.forRoot(), EventEmitterModule.forRoot()],
      controllers: [ItemsController],
      providers: [ItemsService, ItemsListener, ItemsJobs, { provide: APP_GUARD, useClass: GlobalGuard }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ItemsMiddleware).forRoutes(ItemsController);
  }
}
