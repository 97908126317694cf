// The schema in src/core/config-schema.ts is the one list of config keys: the parser must read exactly its keys,
// and each documented default must be what the parser uses when the key is absent.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config";
import { CONFIG_SCHEMA, findUnknownKeys, type ConfigSchema } from "../../src/core/config-schema";

/** A document small enough to exercise every reader of the parser: one node with one GRES, one partition. */
const BASE = () => ({
  Nodes: [{ name: "cn01", cpu: 4, memory: "8G", gres: [{ name: "gpu", count: 1 }] }],
  Partitions: [{ name: "P", nodes: "cn01" }],
  CraneCtld: {},
  Craned: {},
  Container: { Dns: {} },
});

/** Every key path of a schema, list items written as `Nodes[].cpu`. */
function schemaPaths(schema: ConfigSchema, prefix = ""): string[] {
  return Object.entries(schema).flatMap(([name, e]) => {
    const p = `${prefix}${name}`;
    if (e.kind === "section") return [p, ...schemaPaths(e.keys, `${p}.`)];
    if (e.kind === "list") return [p, ...schemaPaths(e.item, `${p}[].`)];
    return [p];
  });
}

/** Wraps a document so that every key the parser looks up (present or not) is recorded by its path. */
function recording(value: unknown, path: string, read: Set<string>): unknown {
  if (Array.isArray(value)) {
    return new Proxy(value, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof prop === "string" && /^\d+$/.test(prop) ? recording(v, `${path}[]`, read) : v;
      },
    });
  }
  if (typeof value !== "object" || value === null) return value;
  return new Proxy(value, {
    get: (target, prop, receiver) => {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== "string") return v;
      const p = path ? `${path}.${prop}` : prop;
      read.add(p);
      return recording(v, p, read);
    },
  });
}

describe("config schema", () => {
  it("lists exactly the keys the parser reads", () => {
    const read = new Set<string>();
    parseConfig(recording(BASE(), "", read) as Record<string, unknown>, "test.yaml");
    expect([...read].sort()).toEqual(schemaPaths(CONFIG_SCHEMA).sort());
  });

  it("documents the parser's defaults: writing a default out changes nothing", () => {
    const plain = parseConfig(BASE(), "test.yaml");
    const checked: string[] = [];
    const visit = (schema: ConfigSchema, at: (doc: Record<string, unknown>) => Record<string, unknown>, prefix: string) => {
      for (const [name, e] of Object.entries(schema)) {
        if (e.kind === "section") visit(e.keys, (doc) => (at(doc)[name] ??= {}) as Record<string, unknown>, `${prefix}${name}.`);
        else if (e.kind === "list") visit(e.item, (doc) => (at(doc)[name] as Record<string, unknown>[])[0]!, `${prefix}${name}[0].`);
        else if (e.default !== undefined) {
          const doc = BASE() as Record<string, unknown>;
          at(doc)[name] = e.default;
          const withDefault = parseConfig(doc, "test.yaml");
          expect({ ...withDefault, unknownKeys: [] }, `${prefix}${name}: ${JSON.stringify(e.default)}`).toEqual({ ...plain, unknownKeys: [] });
          checked.push(`${prefix}${name}`);
        }
      }
    };
    visit(CONFIG_SCHEMA, (doc) => doc, "");
    expect(checked).toContain("CraneCtld.MaxSpecBytes");
    expect(checked).toContain("Nodes[0].gres[0].type");
  });

  it("finds unknown keys at every level and suggests the closest known one", () => {
    const unknown = findUnknownKeys({
      ClusterNmae: "x",
      Craned: { LogRetentionDay: 3, Zzz: 1 },
      Nodes: [{ name: "a", cpu: 1, memory: "1G", gres: [{ name: "gpu", cuont: 1 }] }],
      Container: { Dns: { servers: ["1.1.1.1"] } },
    });
    expect(unknown.map((u) => u.path)).toEqual(["ClusterNmae", "Craned.LogRetentionDay", "Craned.Zzz", "Nodes[0].gres[0].cuont", "Container.Dns.servers"]);
    expect(unknown[0]!.message).toBe("unknown key: did you mean ClusterName?");
    expect(unknown[1]!.message).toBe("unknown key: did you mean LogRetentionDays?");
    expect(unknown[2]!.message).toMatch(/^unknown key \(known keys of Craned: PingInterval, .*JobPidsMax/);
    expect(unknown[3]!.message).toBe("unknown key: did you mean count?");
    expect(unknown[4]!.message).toBe("unknown key: did you mean Servers?");
  });

  it("reports unknown keys on the loaded config instead of failing the load", () => {
    const c = parseConfig({ ...BASE(), CraneCtld: { CranedTimeot: 5 } }, "test.yaml");
    expect(c.cranedTimeoutSeconds).toBe(30);
    expect(c.unknownKeys).toEqual([{ path: "CraneCtld.CranedTimeot", message: "unknown key: did you mean CranedTimeout?" }]);
  });
});
