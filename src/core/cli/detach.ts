// The detach key of interactive sessions: Ctrl-P Ctrl-Q ends the session and leaves the container running.

export const CTRL_P = 0x10;
export const CTRL_Q = 0x11;
/** A Ctrl-Q counts only this soon after the Ctrl-P. */
export const DETACH_WINDOW_MS = 1000;

export const DETACH_HELP = "Detach key: in an interactive TTY session, press Ctrl-P + Ctrl-Q to detach without stopping the container.";

/** Detaching needs a human at a terminal whose keystrokes go to the container. */
export function shouldEnableDetach(stdin: boolean, tty: boolean, stdinIsTerminal: boolean): boolean {
  return stdin && tty && stdinIsTerminal;
}

/**
 * Filters what the user types before it goes to the container. A Ctrl-P is held back until the next byte: a Ctrl-Q
 * within the window detaches (bytes before it in the same read are still delivered; the rest and every later read
 * are dropped); another Ctrl-P releases the first and stays armed; anything else releases the Ctrl-P with it. A
 * byte arriving after the window releases the held Ctrl-P first and is then ordinary data. There is no timer: a
 * held Ctrl-P waits for the next byte or for the end of input.
 */
export class DetachFilter {
  private heldAt: number | undefined;
  private detachedFlag = false;

  get detached(): boolean {
    return this.detachedFlag;
  }

  /** The bytes to send for one read, and whether the user detached in it. */
  push(chunk: Uint8Array, now: number = Date.now()): { data: Buffer; detach: boolean } {
    if (this.detachedFlag) return { data: Buffer.alloc(0), detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.heldAt !== undefined) {
        if (now - this.heldAt > DETACH_WINDOW_MS) {
          out.push(CTRL_P);
          this.heldAt = undefined;
        } else if (byte === CTRL_Q) {
          this.heldAt = undefined;
          this.detachedFlag = true;
          return { data: Buffer.from(out), detach: true };
        } else if (byte === CTRL_P) {
          out.push(CTRL_P);
          this.heldAt = now;
          continue;
        } else {
          out.push(CTRL_P, byte);
          this.heldAt = undefined;
          continue;
        }
      }
      if (byte === CTRL_P) this.heldAt = now;
      else out.push(byte);
    }
    return { data: Buffer.from(out), detach: false };
  }

  /** At the end of input: a held Ctrl-P is delivered after all. */
  end(): Buffer {
    if (this.heldAt === undefined || this.detachedFlag) return Buffer.alloc(0);
    this.heldAt = undefined;
    return Buffer.from([CTRL_P]);
  }
}
