import { describe, expect, it } from "vitest";
import { signalName, signalOfExitCode } from "../../src/core/signals";
import { ptyArgv } from "../../src/modes/supervisor/pty";

describe("signal names", () => {
  it("takes USR1, SIGUSR1, sigusr1 and 10 for the same signal, and nothing else", () => {
    for (const text of ["USR1", "SIGUSR1", "sigusr1", " 10 "]) expect(signalName(text)).toBe("SIGUSR1");
    expect(signalName("9")).toBe("SIGKILL");
    for (const text of ["", "NOPE", "SIG", "999", "-9", "USR1;rm"]) expect(signalName(text)).toBeUndefined();
  });

  it("reads 128+N exit codes as signals, with the usual name where two share a number", () => {
    expect(signalOfExitCode(143)).toBe("SIGTERM");
    expect(signalOfExitCode(134)).toBe("SIGABRT");
    expect(signalOfExitCode(1)).toBeNull();
  });
});

describe("crun --pty's command", () => {
  it("hands script one shell word per argument, whatever they contain", () => {
    const argv = ptyArgv(["printf", "%s|", "it's", "$HOME", "a b"]);
    expect(argv.slice(0, 5)).toEqual(["/usr/bin/script", "-q", "-e", "-f", "-c"]);
    expect(argv.at(-1)).toBe("/dev/null");
    expect(argv[5]).toBe(`exec 'printf' '%s|' 'it'\\''s' '$HOME' 'a b'`);
  });
});
