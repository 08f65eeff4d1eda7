import { Controller, Get, Injectable, Module, NotFoundException, Param } from '@nestjs/common';
import type { Span } from '@opentelemetry/api';
import { CurrentSpan, Traced, TracingModule, TracingService } from 'nestjs-tracing';

const USERS: Record<string, string> = { '42': 'Ada Lovelace' };

@Injectable()
export class UsersService {
  constructor(private readonly tracing: TracingService) {}

  @Traced()
  async findOne(id: string): Promise<{ id: string; name: string }> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const name = USERS[id];
    if (name === undefined) {
      throw new NotFoundException(`No user ${id}`);
    }
    this.tracing.addEvent('user found', { 'user.id': id });
    return { id, name };
  }
}

@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly tracing: TracingService,
  ) {}

  @Get(':id')
  @Traced()
  async find(@Param('id') id: string, @CurrentSpan() span: Span) {
    span.setAttribute('user.id', id);
    const user = await this.users.findOne(id);
    return { ...user, traceId: this.tracing.getTraceId() };
  }
}

@Module({
  imports: [TracingModule.forRoot()],
  controllers: [UsersController],
  providers: [UsersService],
})
export class AppModule {}
