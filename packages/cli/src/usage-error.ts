/** A mistake on the command line; the message says what to type instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
