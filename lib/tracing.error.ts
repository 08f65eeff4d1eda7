/** The error every failure of `nestjs-tracing` itself is reported with. */
export class TracingError extends Error {
  override readonly name: string = this.constructor.name;

  static create(message: string): TracingError {
    return new TracingError(message);
  }
}
