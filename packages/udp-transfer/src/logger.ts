/** The subset of pino's logger this package uses; pass a pino logger or nothing. */
export interface TransferLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): TransferLogger;
}

const noop = (): void => {};

export const silentLogger: TransferLogger = {
  info: noop,
  warn: noop,
  debug: noop,
  error: noop,
  child: () => silentLogger,
};
