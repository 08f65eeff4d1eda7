/**
 * The attributes this package adds beyond the OpenTelemetry semantic conventions.
 * Every key lives under the `nestjs.` namespace.
 */
export enum NestAttributes {
  /** The class whose method the span wraps, e.g. `UsersService`. */
  CLASS = 'nestjs.class',
  /**
   * What an automatic span wraps: `guard`, `pipe`, `interceptor`, `filter`,
   * `middleware`, `handler`, `provider`, `cron` or `event`.
   */
  TYPE = 'nestjs.type',
  /** The controller that handled the request, e.g. `UsersController`. */
  CONTROLLER = 'nestjs.controller',
  /** The controller method that handled the request, e.g. `findOne`. */
  HANDLER = 'nestjs.handler',
  /** The microservice transport of a message: `tcp`, `redis`, `nats`, `mqtt`, `rmq`, `kafka`, `grpc`, `custom`. */
  TRANSPORT = 'nestjs.transport',
  /** The pattern of a message as Nest routes it, e.g. `users.get` or `{"cmd":"sum"}`. */
  PATTERN = 'nestjs.pattern',
}
