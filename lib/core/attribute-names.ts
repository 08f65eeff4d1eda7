/**
 * The attributes this package adds beyond the OpenTelemetry semantic conventions.
 * Every key lives under the `nestjs.` namespace.
 */
export enum NestAttributes {
  /** The class whose method the span wraps, e.g. `UsersService`. */
  CLASS = 'nestjs.class',
  /** The controller that handled the request, e.g. `UsersController`. */
  CONTROLLER = 'nestjs.controller',
  /** The controller method that handled the request, e.g. `findOne`. */
  HANDLER = 'nestjs.handler',
}
