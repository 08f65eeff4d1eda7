/** The error every failure of `nestjs-tracing` itself is reported with. */
export class TracingError extends Error {
  override readonly name: string = this.constructor.name;

  /** @internal Use `TracingError.create()`. */
  protected constructor(message: string) {
    super(message);
  }

  static create(message: string): TracingError {
    return new TracingError(message);
  }
}
