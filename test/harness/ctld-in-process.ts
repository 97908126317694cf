// A real ctld inside the test process, on free loopback ports, with configured nodes that never register (so jobs
// stay pending): enough for the public RPCs (submit, cancel, query, watch) without any daemon to clean up.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "../../src/core/config";
import type { CtldConnection } from "../../src/core/cli/ctld";
import { JobSpec, JobType } from "../../src/core/generated/crane/crane";
import { type CraneCtldClient } from "../../src/core/generated/crane/services";
import { ctldClient, unary } from "../../src/core/rpc";
import { CTLD_UNARY } from "../../src/core/rpc/ctld-unary";
import { UnaryClient, type UnaryMethod } from "../../src/core/rpc/unary-client";
import { runCtld, type CtldHandle } from "../../src/modes/ctld";
import { freePortBase } from "./cluster";

export interface InProcessCtld {
  client: CraneCtldClient;
  /** A CtldConnection for code written for the CLI. */
  connection: CtldConnection;
  submit(n: number, over?: Partial<JobSpec>): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startInProcessCtld(overrides: Record<string, unknown> = {}): Promise<InProcessCtld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-ctld-"));
  const port = await freePortBase(2);
  const config = parseConfig(
    {
      ControlMachine: "127.0.0.1",
      CraneCtldListenAddr: "127.0.0.1",
      CraneCtldListenPort: port,
      CraneCtldForInternalListenPort: port + 1,
      CraneBaseDir: dir,
      Nodes: [
        { name: "w1", cpu: 4, memory: "4G" },
        { name: "w2", cpu: 4, memory: "4G" },
      ],
      Partitions: [{ name: "CPU", nodes: "ALL" }],
      ...overrides,
    },
    path.join(dir, "config.yaml"),
  );
  const ctld: CtldHandle = await runCtld(config);
  const client = ctldClient("127.0.0.1", ctld.publicPort);
  const unaryClient = new UnaryClient("127.0.0.1", ctld.publicPort);
  const connection: CtldConnection = {
    config,
    call: (method, req, _context, timeoutMs = 10_000) => unaryClient.call(CTLD_UNARY[method] as UnaryMethod<unknown, unknown>, req, timeoutMs) as never,
    streams: async () => client,
    close: () => unaryClient.close(),
  };
  return {
    client,
    connection,
    async submit(n, over = {}) {
      const job = JobSpec.fromPartial({
        type: JobType.Batch,
        name: "t",
        cpusPerTask: 1,
        nodeNum: 1,
        hold: true,
        shScript: "#!/bin/sh\ntrue\n",
        cwd: "/tmp",
        ...over,
      });
      const r = await unary(client, client.submitBatchJobs, { job, count: n });
      if (r.reasons.length) throw new Error(`submission refused: ${r.reasons.join("; ")}`);
      return r.jobIds;
    },
    async stop() {
      client.close();
      await ctld.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
