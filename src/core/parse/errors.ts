/** Raised by every parser in this folder; the message says what was wrong and how to fix it. */
export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseError";
  }
}
