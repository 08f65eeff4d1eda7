// The app every variant of the HTTP benchmark serves: GET /users/:id, whose handler
// awaits a service. Loaded only after the variant has set up tracing.
import { Controller, Get, Injectable, Module, Param, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TracingModule } from 'nestjs-tracing';
import type { Variant } from './http-server';

@Injectable()
class UsersService {
  async find(id: string): Promise<{ id: string; name: string }> {
    await Promise.resolve();
    return { id, name: `user ${id}` };
  }
}

@Controller('users')
class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get(':id')
  find(@Param('id') id: string) {
    return this.users.find(id);
  }
}

@Module({})
class BenchModule {
  static with(traced: boolean): DynamicModule {
    return {
      module: BenchModule,
      imports: traced ? [TracingModule.forRoot()] : [],
      controllers: [UsersController],
      providers: [UsersService],
    };
  }
}

export async function createApp(variant: Variant): Promise<INestApplication> {
  const traced = variant.startsWith('nestjs-tracing');
  const module = BenchModule.with(traced);
  return variant.endsWith('-fastify')
    ? NestFactory.create(module, new FastifyAdapter(), { logger: false })
    : NestFactory.create(module, { logger: false });
}
