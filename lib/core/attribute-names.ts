/**
 * The attributes this package adds beyond the OpenTelemetry semantic conventions.
 * Every key lives under the `nestjs.` namespace.
 */
export enum NestAttributes {
  /** The class whose method the span wraps, e.g. `UsersService`. */
  CLASS = 'nestjs.class',
}
