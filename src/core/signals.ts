// Signal names as users write them (USR1, SIGUSR1, 10) and as the daemons pass them on (SIGUSR1).
import os from "node:os";

/** Number -> name; where two names share a number (SIGABRT, SIGIOT) the first, usual one. */
const BY_NUMBER = new Map<number, NodeJS.Signals>();
for (const [name, n] of Object.entries(os.constants.signals)) if (!BY_NUMBER.has(n)) BY_NUMBER.set(n, name as NodeJS.Signals);

/** The signal's canonical name (SIGUSR1), or undefined when the text names no signal of this platform. */
export function signalName(text: string): NodeJS.Signals | undefined {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) return BY_NUMBER.get(Number(t));
  const name = t.startsWith("SIG") ? t : `SIG${t}`;
  return name in os.constants.signals ? (name as NodeJS.Signals) : undefined;
}

/** The signal a shell's 128+N status stands for (a process may also exit with such a code itself: then it reads so). */
export function signalOfExitCode(exitCode: number): NodeJS.Signals | null {
  return exitCode > 128 ? (BY_NUMBER.get(exitCode - 128) ?? null) : null;
}

/** A shell's status for a process the signal ended: 128+N. */
export function exitCodeOfSignal(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}
