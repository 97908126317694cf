import { describe, it, expect } from "vitest";
import { normaliseDirectiveName, parseBatchScript } from "../../../src/core/parse/script.js";
import { ParseError } from "../../../src/core/parse/errors.js";

describe("normaliseDirectiveName", () => {
  it.each([
    ["-N", "nodes"],
    ["-c", "cpus-per-task"],
    ["-J", "job-name"],
    ["-p", "partition"],
    ["-t", "time"],
    ["-o", "output"],
    ["-e", "error"],
    ["-n", "ntasks"],
    ["-w", "nodelist"],
    ["-x", "exclude"],
    ["-A", "account"],
    ["-Q", "qos"],
    ["-q", "qos"],
    ["-D", "chdir"],
    ["-H", "hold"],
    ["-a", "array"],
    ["-d", "dependency"],
    ["-b", "begin"],
    ["-L", "licenses"],
    ["-r", "reservation"],
    ["-s", "signal"],
    ["-i", "input"],
  ])("maps %s to %s", (short, long) => {
    expect(normaliseDirectiveName(short)).toBe(long);
  });

  it("strips the dashes of long names and keeps unknown short names", () => {
    expect(normaliseDirectiveName("--mem")).toBe("mem");
    expect(normaliseDirectiveName("--pod-user")).toBe("pod-user");
    expect(normaliseDirectiveName("-Z")).toBe("-Z");
  });
});

describe("parseBatchScript", () => {
  it("reads the interpreter and keeps the shebang in the body", () => {
    const parsed = parseBatchScript("#!/bin/bash -l\necho hi\n");
    expect(parsed.interpreter).toBe("/bin/bash -l");
    expect(parsed.body).toBe("#!/bin/bash -l\necho hi\n");
    expect(parsed.directives).toEqual([]);
    expect(parsed.warnings).toEqual([]);
  });

  it("has no interpreter without a shebang on line 1", () => {
    expect(parseBatchScript("echo hi\n#!/bin/sh\n").interpreter).toBeUndefined();
  });

  it("parses the value forms and removes directive lines from the body", () => {
    const script = ["#!/bin/bash", "#CBATCH -N 2", "#CBATCH --time=1:00:00", "#CBATCH -c4", "#CBATCH --mem 4G", "echo start", "#CBATCH -J late", ""].join("\n");
    const parsed = parseBatchScript(script);
    expect(parsed.directives).toEqual([
      { name: "nodes", value: "2", line: 2, source: "CBATCH" },
      { name: "time", value: "1:00:00", line: 3, source: "CBATCH" },
      { name: "cpus-per-task", value: "4", line: 4, source: "CBATCH" },
      { name: "mem", value: "4G", line: 5, source: "CBATCH" },
      { name: "job-name", value: "late", line: 7, source: "CBATCH" },
    ]);
    expect(parsed.body).toBe("#!/bin/bash\necho start\n");
  });

  it("strips quotes, keeps quoted spaces and ignores trailing comments", () => {
    const parsed = parseBatchScript(
      ['#CBATCH -J "my job"', "#CBATCH --comment='a # b'", "#CBATCH -p gpu # the GPU partition", "#CBATCH --output=out#1.txt"].join("\n"),
    );
    expect(parsed.directives.map((d) => [d.name, d.value])).toEqual([
      ["job-name", "my job"],
      ["comment", "a # b"],
      ["partition", "gpu"],
      ["output", "out#1.txt"],
    ]);
  });

  it("reads bare boolean options as true and other bare options as empty", () => {
    const parsed = parseBatchScript("#CBATCH --exclusive\n#CBATCH -H\n#CBATCH --get-user-env\n#CBATCH --export\n");
    expect(parsed.directives.map((d) => [d.name, d.value])).toEqual([
      ["exclusive", "true"],
      ["hold", "true"],
      ["get-user-env", "true"],
      ["export", ""],
    ]);
  });

  it("keeps an explicit boolean value", () => {
    expect(parseBatchScript("#CBATCH --exclusive false").directives[0]?.value).toBe("false");
  });

  it("handles CRLF line endings", () => {
    const parsed = parseBatchScript("#!/bin/sh\r\n#CBATCH -N 3\r\necho x\r\n");
    expect(parsed.interpreter).toBe("/bin/sh");
    expect(parsed.directives[0]).toMatchObject({ name: "nodes", value: "3" });
    expect(parsed.body).toBe("#!/bin/sh\r\necho x\r\n");
  });

  it("leaves look-alike comments in the body", () => {
    const text = "##CBATCH -N 2\n#CBATCHX -N 2\n #CBATCH -N 2\n#cbatch -N 2\n";
    const parsed = parseBatchScript(text);
    expect(parsed.directives).toEqual([]);
    expect(parsed.body).toBe(text);
  });

  it("accepts supported #SBATCH options and warns about the rest", () => {
    const parsed = parseBatchScript(
      ["#SBATCH --nodes=2", "#SBATCH -e err.log", "#SBATCH --mem-per-cpu 1G", "#SBATCH -Q", "#SBATCH --wait a b", "echo"].join("\n"),
    );
    expect(parsed.directives).toEqual([
      { name: "nodes", value: "2", line: 1, source: "SBATCH" },
      { name: "error", value: "err.log", line: 2, source: "SBATCH" },
    ]);
    expect(parsed.warnings).toEqual([
      "Slurm option --mem-per-cpu is not supported (line 3 ignored)",
      "Slurm option -Q is not supported (line 4 ignored)",
      "Slurm option --wait is not supported (line 5 ignored)",
    ]);
    expect(parsed.body).toBe("echo");
  });

  it.each([
    ["echo\n#CBATCH -N 2 3", 2, "fields out of bound"],
    ["#CBATCH --nodes=2 3", 1, "fields out of bound"],
    ["#CBATCH -J my job", 1, "fields out of bound"],
    ["#CBATCH", 1, "no option after #CBATCH"],
    ["#CBATCH # nothing", 1, "no option after #CBATCH"],
    ["#CBATCH nodes 2", 1, '"nodes" is not an option'],
    ["#CBATCH -- 2", 1, '"--" is not an option'],
    ['#CBATCH -J "open', 1, 'missing closing " quote'],
    ["#SBATCH -N 2 3", 1, "fields out of bound"],
  ])("reports %j at line %i", (text, line, what) => {
    expect(() => parseBatchScript(text)).toThrow(ParseError);
    expect(() => parseBatchScript(text)).toThrow(`Parsing error at line ${line}: ${what}`);
  });

  it("suggests quoting when a value has spaces", () => {
    expect(() => parseBatchScript("#CBATCH -J my job")).toThrow(/quote values that contain spaces/);
  });
});
