import { config, serve } from './service';
import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientsModule,
  MessagePattern,
  Payload,
  RpcException,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { Traced, TracingModule, TracingService } from 'nestjs-tracing';
import { firstValueFrom } from 'rxjs';
import { eventTransport } from './inventory';

interface Order {
  id: number;
  productId: number;
  quantity: number;
}

@Injectable()
class OrdersRepository {
  private readonly orders = new Map<number, Order>([[1, { id: 1, productId: 1, quantity: 2 }]]);

  @Traced()
  async find(id: number): Promise<Order | undefined> {
    await new Promise((resolve) => setTimeout(resolve, 4));
    if (id === 13) {
      throw new Error('orders database is unavailable');
    }
    return this.orders.get(id);
  }
}

@Controller()
class OrdersController {
  constructor(
    private readonly orders: OrdersRepository,
    private readonly tracing: TracingService,
    @Inject('INVENTORY') private readonly inventory: ClientProxy,
  ) {}

  @MessagePattern('orders.get')
  async get(@Payload() id: number) {
    const order = await this.orders.find(id);
    if (order === undefined) {
      throw new RpcException({ status: 404, message: `No order ${id}` });
    }
    this.tracing.setAttributes({ 'order.id': id });
    await firstValueFrom(this.inventory.emit('order.placed', order), { defaultValue: undefined });
    return order;
  }
}

@Module({
  imports: [
    TracingModule.forRoot(),
    ClientsModule.register([{ name: 'INVENTORY', ...(eventTransport() as object) } as never]),
  ],
  controllers: [OrdersController],
  providers: [OrdersRepository],
})
class OrdersModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(OrdersModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: config.ordersPort },
    logger: ['error', 'warn'],
  });
  await app.listen();
  serve(app, 'orders');
}

void main();
