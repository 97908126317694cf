import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/core/config";
import { JobStatus, StepToD, type StepStatusChangeRequest } from "../../../src/core/generated/crane/crane";
import { CraneCtldForInternalService } from "../../../src/core/generated/crane/services";
import { NODE_NAME_HEADER, deriveNodeKey, requireNodeKey } from "../../../src/core/auth/node-credential";
import { bindServer, cranedClient, safeHandlers, unary } from "../../../src/core/rpc";
import { startSimulatedNodes, type SimulatedNodes } from "../../../src/modes/simnodes";
import { simulatedRunMs } from "../../../src/modes/simnodes/run-time";
import { TickQueue } from "../../../src/modes/simnodes/ticks";
import { freePortBase } from "../../harness/cluster";

const step = (s: Partial<StepToD>) => StepToD.fromPartial({ jobId: 1, stepId: 1, ...s });
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("a simulated step's run time", () => {
  it("is a leading sleep of the script or the command, as GNU sleep reads it", () => {
    expect(simulatedRunMs(step({ shScript: "#!/bin/sh\n#CBATCH -c 1\n\nsleep 0.05\nhostname\n" }))).toBe(50);
    expect(simulatedRunMs(step({ shScript: "sleep 1m 2; echo done" }))).toBe(62_000);
    expect(simulatedRunMs(step({ shScript: "exec /bin/sleep 2s" }))).toBe(2000);
    expect(simulatedRunMs(step({ argv: ["sleep", ".5"] }))).toBe(500);
    expect(simulatedRunMs(step({ containerMeta: { command: ["sleep"], args: ["3"] } as StepToD["containerMeta"] }))).toBe(3000);
  });

  it("is nothing for another command or a bad duration, and unbounded for a pod or sleep infinity", () => {
    expect(simulatedRunMs(step({ shScript: "hostname\nsleep 5" }))).toBe(0);
    expect(simulatedRunMs(step({ argv: ["sleep", "soon"] }))).toBe(0);
    expect(simulatedRunMs(step({ argv: [] }))).toBe(0);
    expect(simulatedRunMs(step({ argv: ["sleep", "infinity"] }))).toBeUndefined();
    expect(simulatedRunMs(step({ stepId: 0, argv: ["sleep", "1"] }))).toBeUndefined();
  });
});

describe("the tick queue", () => {
  it("fires items in the tick they fall due, never early, and what a firing adds in a later tick", () => {
    let now = 1000;
    const fired: string[][] = [];
    const q = new TickQueue<string>(
      10,
      (items) => {
        fired.push(items);
        if (items.includes("a")) q.add(now, "again"); // due "now": the next tick
      },
      () => now,
    );
    q.add(1005, "a");
    q.add(1010, "b");
    q.add(1011, "c");
    q.add(500, "late"); // already due: the current tick
    now = 1009;
    q.run();
    expect(fired).toEqual([["late"]]);
    now = 1010;
    q.run();
    expect(fired.slice(1)).toEqual([["a", "b"]]);
    now = 1030;
    q.run();
    expect(fired.slice(2)).toEqual([["c", "again"]]); // "again" fell due in tick 101, already fired: the next one
    expect(q.size).toBe(0);
  });
});

describe("simulated nodes", () => {
  const clusterKey = "k".repeat(64);
  const reports: StepStatusChangeRequest[] = [];
  const registered = new Set<string>();
  let ctld: grpc.Server;
  let sim: SimulatedNodes;
  let simPort = 0;

  beforeAll(async () => {
    const base = await freePortBase(2);
    simPort = base + 1;
    // A stand-in for ctld's internal service, authenticating as ctld does: the node's key, then "speaks only as itself".
    ctld = new grpc.Server();
    const asCaller = (call: grpc.ServerUnaryCall<{ node: string }, unknown>) => {
      if (call.metadata.get(NODE_NAME_HEADER)[0] !== call.request.node) throw Object.assign(new Error("not itself"), { code: grpc.status.PERMISSION_DENIED });
    };
    const service = {
      cranedRegister(call: grpc.ServerUnaryCall<{ node: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
        asCaller(call);
        registered.add(call.request.node);
        cb(null, { ok: true, reason: "", orphanSteps: [] });
      },
      cranedPing(call: grpc.ServerUnaryCall<{ node: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
        asCaller(call);
        cb(null, { ok: true, reregister: false });
      },
      stepStatusChange(call: grpc.ServerUnaryCall<StepStatusChangeRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
        asCaller(call);
        reports.push(call.request);
        cb(null, { ok: true });
      },
    };
    const keyOf = (n: string) => (["n1", "n2"].includes(n) ? deriveNodeKey(clusterKey, n) : undefined);
    ctld.addService(
      CraneCtldForInternalService,
      safeHandlers(service, () => {}, { authenticate: requireNodeKey(keyOf, "refused") }),
    );
    await bindServer(ctld, `127.0.0.1:${base}`);
    const config = parseConfig(
      {
        ControlMachine: "127.0.0.1",
        CraneCtldForInternalListenPort: base,
        CranedListenAddr: "127.0.0.1",
        Craned: { PingInterval: 0.2 },
        Container: { Enabled: false },
        Nodes: ["n1", "n2"].map((name) => ({ name, address: "127.0.0.1", port: simPort, cpu: 4, memory: "4G" })),
      },
      "",
    );
    sim = await startSimulatedNodes({ config, port: simPort, clusterKey, log: quiet });
    await sim.waitRegistered(10_000);
  });

  afterAll(async () => {
    await sim?.stop();
    ctld?.forceShutdown();
  });

  const asCtld = (node: string, keyOf = node) => cranedClient(`127.0.0.1:${simPort}`, { name: node, key: deriveNodeKey(clusterKey, keyOf) });
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(pred()).toBe(true);
  };

  it("registers every node as itself, over one channel", () => {
    expect([...registered].sort()).toEqual(["n1", "n2"]);
    expect(sim.stats().registered).toBe(2);
  });

  it("runs a step on the node ctld called: Running at once, Completed after its sleep", async () => {
    const c = asCtld("n2");
    const t0 = Date.now();
    const r = await unary(c, c.executeStep, { step: step({ jobId: 7, shScript: "#!/bin/sh\nsleep 0.05\n" }) });
    expect(r.ok).toBe(true);
    await until(() => reports.some((x) => x.jobId === 7 && x.status === JobStatus.Completed));
    const mine = reports.filter((x) => x.jobId === 7);
    expect(mine.map((x) => [x.node, x.status, x.exitCode])).toEqual([
      ["n2", JobStatus.Running, 0],
      ["n2", JobStatus.Completed, 0],
    ]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    expect((await unary(c, c.freeJob, { jobId: 7 })).ok).toBe(true);
    expect(sim.stats()).toMatchObject({ executed: { count: 1 }, started: { count: 1 }, completed: { count: 1 }, freed: { count: 1 }, running: 0 });
    c.close();
  });

  it("reports a terminated step Cancelled, and never as ended by its timer", async () => {
    const c = asCtld("n1");
    await unary(c, c.executeStep, { step: step({ jobId: 8, argv: ["sleep", "infinity"] }) });
    await unary(c, c.terminateStep, { jobId: 8, stepId: 1, reasonStatus: JobStatus.Cancelled, reason: "cancelled by user", signal: "" });
    await until(() => reports.some((x) => x.jobId === 8 && x.status === JobStatus.Cancelled));
    expect(reports.filter((x) => x.jobId === 8).map((x) => [x.node, x.status])).toEqual([
      ["n1", JobStatus.Running],
      ["n1", JobStatus.Cancelled],
    ]);
    c.close();
  });

  it("refuses a call that carries another node's key", async () => {
    const c = asCtld("n1", "n2");
    await expect(unary(c, c.executeStep, { step: step({ jobId: 9 }) })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    c.close();
  });
});
