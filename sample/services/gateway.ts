import { config, serve } from './service';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  HttpException,
  Inject,
  Injectable,
  Logger,
  Module,
  Param,
  ParseIntPipe,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Transport, type ClientProxy } from '@nestjs/microservices';
import { tracingInstrument, TracingModule } from 'nestjs-tracing';
import { catchError, throwError } from 'rxjs';

/** Lets through requests that carry an API key. */
@Injectable()
class ApiKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['x-api-key'] === 'sample';
  }
}

@Controller('orders')
@UseGuards(ApiKeyGuard)
class OrdersController {
  private readonly logger = new Logger('Gateway');

  constructor(@Inject('ORDERS') private readonly orders: ClientProxy) {}

  @Get(':id')
  find(@Param('id', ParseIntPipe) id: number) {
    this.logger.log(`order ${id} requested`);
    return this.orders
      .send('orders.get', id)
      .pipe(
        catchError((error: { status?: unknown; message?: string }) =>
          throwError(
            () =>
              new HttpException(
                error.message ?? 'orders failed',
                typeof error.status === 'number' ? error.status : 500,
              ),
          ),
        ),
      );
  }
}

@Module({
  imports: [
    TracingModule.forRoot({
      http: { requestHeaders: ['x-request-id'] },
      autoInstrument: { guards: true, pipes: true },
    }),
    ClientsModule.register([
      { name: 'ORDERS', transport: Transport.TCP, options: { host: '127.0.0.1', port: config.ordersPort } },
    ]),
  ],
  controllers: [OrdersController],
  providers: [ApiKeyGuard],
})
class GatewayModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(GatewayModule, {
    instrument: tracingInstrument(),
    logger: ['error', 'warn'],
  });
  await app.listen(config.gatewayPort, '127.0.0.1');
  serve(app, 'gateway');
}

void main();
