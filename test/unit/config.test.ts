import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/core/config";

function write(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crane-cfg-")), "config.yaml");
  fs.writeFileSync(file, text);
  return file;
}

describe("config", () => {
  it("describes a one-node local cluster when there is no file", () => {
    const c = parseConfig({}, "");
    expect(c.nodes).toHaveLength(1);
    expect(c.partitions[0]!.nodes).toEqual([c.nodes[0]!.name]);
    expect(c.defaultPartition).toBe("CPU");
    expect(c.ctldPort).toBe(10011);
  });

  it("expands host lists, memory units and GRES device files", () => {
    const c = loadConfig(
      write(`
Nodes:
  - name: cn[01-03]
    cpu: 8
    memory: 16G
    gres: [{name: gpu, type: a100, DeviceFileList: "/dev/nvidia[0-1]"}]
Partitions:
  - {name: GPU, nodes: "cn[01-02]", MaxTime: "1-0"}
  - {name: ALLN, nodes: ALL}
DefaultPartition: ALLN
`),
    );
    expect(c.nodes.map((n) => n.name)).toEqual(["cn01", "cn02", "cn03"]);
    expect(c.nodes[0]!.memoryBytes).toBe(16 * 1024 ** 3);
    expect(c.nodes[0]!.gres[0]).toEqual({ name: "gpu", type: "a100", count: 2, deviceFiles: ["/dev/nvidia0", "/dev/nvidia1"] });
    expect(c.partitions[0]!.maxTimeSeconds).toBe(86400);
    expect(c.defaultPartition).toBe("ALLN");
  });

  it("names the key and the file in every error", () => {
    const file = write("Nodes:\n  - {name: a, cpu: 2}\n");
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(`Nodes[0].memory in ${file}`);
    const bad = write("Partitions:\n  - {name: P, nodes: nope}\n");
    expect(() => loadConfig(bad)).toThrow(/Partitions\[0\]\.nodes .*node "nope" is not defined under Nodes/);
    expect(() => loadConfig(write("CraneCtldListenPort: abc\n"))).toThrow(/CraneCtldListenPort in .*expected a number/);
    // Unknown keys do not stop a load (daemons log them; `crane config check` fails on them): see config-schema.test.ts.
    expect(loadConfig(write("Typo: 1\n")).unknownKeys).toEqual([
      { path: "Typo", message: expect.stringMatching(/^unknown key \(known keys at the top level: ClusterName, /) },
    ]);
    expect(() => loadConfig(write("DefaultPartition: X\n"))).toThrow(/DefaultPartition .*"X" does not exist \(known: CPU\)/);
  });

  it("reports YAML syntax errors with the file", () => {
    const file = write("Nodes: [\n");
    expect(() => loadConfig(file)).toThrow(`Config syntax error in ${file}`);
  });
});
