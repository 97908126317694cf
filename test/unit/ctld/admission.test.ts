import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/core/config";
import { ErrCode, JobSpec, JobStatus, JobType } from "../../../src/core/generated/crane/crane";
import { admitJob, type AdmissionContext } from "../../../src/modes/ctld/admission";
import { Rejection } from "../../../src/modes/ctld/rejection";

const config = parseConfig(
  {
    Nodes: [
      { name: "n1", cpu: 8, memory: "16G" },
      { name: "n2", cpu: 8, memory: "16G" },
    ],
    Partitions: [{ name: "CPU", nodes: "ALL", MaxTime: "1:00:00" }],
    Container: { Enabled: true },
  },
  "test.yaml",
);
const ctx: AdmissionContext = {
  config,
  node: (name) => {
    const n = config.nodes.find((x) => x.name === name);
    return n && { partitions: ["CPU"], total: { cpu: n.cpu, memoryBytes: n.memoryBytes, gres: {} } };
  },
  isAdmin: (uid) => uid === 0,
  now: 1_000,
};
const user = { uid: 1000, gid: 1000 };
const batch = (over: Partial<JobSpec> = {}) =>
  JobSpec.fromPartial({ type: JobType.Batch, cpusPerTask: 1, shScript: "true", cwd: "/tmp", timeLimitSeconds: 60, ...over });

function rejection(fn: () => unknown): Rejection {
  try {
    fn();
  } catch (e) {
    if (e instanceof Rejection) return e;
    throw e;
  }
  throw new Error("expected a Rejection");
}

describe("admission", () => {
  it("admits a job as its caller, whatever uid and gid the request names", () => {
    const job = admitJob(batch({ uid: 0, gid: 0 }), user, ctx);
    expect([job.spec.uid, job.spec.gid]).toEqual([1000, 1000]);
    expect(job).toMatchObject({ status: JobStatus.Pending, pendingReason: "Priority", submitTime: 1_000 });
  });

  it("lets root alone submit for another user", () => {
    expect(admitJob(batch({ uid: 4242, gid: 7 }), { uid: 0, gid: 0 }, ctx).spec.uid).toBe(4242);
  });

  it("refuses an unknown partition, a node outside the cluster, too long a time limit and more than the nodes have", () => {
    expect(rejection(() => admitJob(batch({ partition: "GPU" }), user, ctx)).code).toBe(ErrCode.ERR_INVALID_PARTITION);
    expect(rejection(() => admitJob(batch({ nodelist: ["n9"] }), user, ctx)).code).toBe(ErrCode.ERR_INVALID_NODE_LIST);
    expect(rejection(() => admitJob(batch({ timeLimitSeconds: 7200 }), user, ctx)).code).toBe(ErrCode.ERR_TIME_LIMIT_BEYOND);
    expect(rejection(() => admitJob(batch({ timeLimitSeconds: 0 }), user, ctx)).code).toBe(ErrCode.ERR_TIME_LIMIT_BEYOND);
    expect(rejection(() => admitJob(batch({ cpusPerTask: 16 }), user, ctx)).code).toBe(ErrCode.ERR_NO_RESOURCE);
    expect(rejection(() => admitJob(batch({ nodeNum: 3 }), user, ctx)).code).toBe(ErrCode.ERR_NO_RESOURCE);
  });

  it("gives a job without a memory request the nodes' memory share of its CPUs", () => {
    const job = admitJob(batch({ cpusPerTask: 2 }), user, ctx);
    expect(job.reqPerNode.memoryBytes).toBe(4 * 1024 ** 3);
  });

  it("applies the container policy at admission, naming the rule", () => {
    const container = (mounts: { hostPath: string; containerPath: string; readonly: boolean }[]) =>
      batch({
        type: JobType.Container,
        containerMeta: { image: { image: "busybox", pullPolicy: "", serverAddress: "", username: "", password: "" }, mounts } as never,
      });
    const r = rejection(() => admitJob(container([{ hostPath: "/etc", containerPath: "/x", readonly: false }]), user, ctx));
    expect(r.code).toBe(ErrCode.ERR_PERMISSION_DENIED);
    expect(r.message).toContain("Container.AllowedMountPaths");
    expect(() => admitJob(container([{ hostPath: "/etc", containerPath: "/x", readonly: false }]), { uid: 0, gid: 0 }, ctx)).not.toThrow();
  });
});
