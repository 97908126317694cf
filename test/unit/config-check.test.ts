// `crane config check` (src/core/config-check.ts), the shipped example config and the generated key reference.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkConfig } from "../../src/core/config-check";
import { configReference } from "../../src/core/config-reference";

const ROOT = path.resolve(__dirname, "../..");

function write(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crane-check-")), "config.yaml");
  fs.writeFileSync(file, text);
  return file;
}

describe("config check", () => {
  it("passes the example config of deploy/", () => {
    const result = checkConfig(path.join(ROOT, "deploy/config.example.yaml"));
    expect(result.problems).toEqual([]);
    expect(result.config!.nodes.map((n) => n.name)).toEqual(["cn01", "cn02", "cn03", "cn04", "gpu01", "gpu02"]);
    expect(result.config!.partitions.map((p) => p.name)).toEqual(["CPU", "GPU"]);
    expect(result.config!.authType).toBe("munge");
    expect(result.config!.container.runtimeEndpoint).toBe("/run/containerd/containerd.sock");
  });

  it("lists every problem, each with its key", () => {
    const file = write(`ClusterNmae: x
Craned: {LogRetentionDay: 3, PingInterval: -1}
CraneCtld: {CranedTimeout: abc, MetricsPort: 10011}
Nodes: [{name: cn01, cpu: 2, memory: 1G, port: x}]
Partitions: [{name: P, nodes: cn01, priority: high}]
`);
    const result = checkConfig(file);
    expect(result.config).toBeUndefined();
    expect(result.stoppedEarly).toBe(false);
    expect(result.problems.map((p) => p.key)).toEqual([
      "ClusterNmae",
      "Craned.LogRetentionDay",
      "Nodes[0].port",
      "Partitions[0].priority",
      "CraneCtld.MetricsPort",
      "CraneCtld.CranedTimeout",
      "Craned.PingInterval",
    ]);
    expect(result.problems[0]!.message).toBe("unknown key: did you mean ClusterName?");
    expect(result.problems[2]!.message).toBe('expected a number >= 0, got "x"');
    expect(result.problems[4]!.message).toMatch(/10011 is one of ctld's gRPC ports/);
  });

  it("stops at a missing required key and says so", () => {
    const result = checkConfig(write("Nodes: [{name: cn01, cpu: 4}]\nCraned: {Typo: 1}\n"));
    expect(result.problems).toEqual([
      { key: "Craned.Typo", message: expect.stringMatching(/^unknown key/) },
      { key: "Nodes[0].memory", message: "is required (e.g. 16G)" },
    ]);
    expect(result.stoppedEarly).toBe(true);
  });

  it("reports an unreadable file", () => {
    const result = checkConfig("/nonexistent/crane.yaml");
    expect(result.problems).toEqual([{ key: "", message: expect.stringContaining("Failed to read config file /nonexistent/crane.yaml") }]);
  });
});

describe("docs/config.md", () => {
  it("is what `crane config reference` prints (regenerate: npx tsx src/main.ts config reference > docs/config.md)", () => {
    expect(fs.readFileSync(path.join(ROOT, "docs/config.md"), "utf8")).toBe(configReference());
  });

  it("lists every key", () => {
    const doc = configReference();
    for (const key of ["`ClusterName`", "`CraneCtld.MetricsPort`", "`Craned.JobPidsMax`", "`Nodes[].gres[].DeviceFileList`", "`Container.Dns.Servers`"]) {
      expect(doc).toContain(`| ${key} |`);
    }
  });
});
