// A ctld for in-process command tests: RPCs answered by handlers the test sets, every request recorded, and how
// often the connection was opened and closed. Tests install it with vi.mock of src/core/cli/ctld (see commands.test.ts);
// it must not import the commands, or the mock factory would wait on the module it is mocking.
import type { CraneConfig } from "../../../src/core/config";
import type { CtldConnection } from "../../../src/core/cli/ctld";
import { JobInfo, JobStatus, JobType, StepInfo } from "../../../src/core/generated/crane/crane";

type Handler = (req: never) => unknown;

export class FakeCtld {
  handlers: Record<string, Handler> = {};
  calls: { rpc: string; req: unknown }[] = [];
  opened = 0;
  closed = 0;

  connect(): CtldConnection {
    this.opened++;
    return {
      config: { container: { userNsEnabledByDefault: true } } as CraneConfig,
      streams: () => Promise.reject(new Error("the fake ctld has no streams")),
      call: (async (rpc: string, req: unknown) => {
        this.calls.push({ rpc, req });
        const h = this.handlers[rpc];
        if (!h) throw new Error(`the fake ctld has no handler for ${rpc}`);
        return h(req as never);
      }) as CtldConnection["call"],
      close: () => {
        this.closed++;
      },
    };
  }

  reset(): void {
    this.handlers = {};
    this.calls = [];
    this.opened = 0;
    this.closed = 0;
  }
}

export const fakeCtld = new FakeCtld();

export const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

/** A running container job `jobId` whose step 1 is a container named `name`. */
export function containerJob(jobId: number, name: string, status = JobStatus.Running): JobInfo {
  return JobInfo.fromPartial({
    jobId,
    name,
    type: JobType.Container,
    username: "alice",
    uid: 1000,
    partition: "CPU",
    status,
    nodes: ["n1"],
    nodeNum: 1,
    submitTime: T0,
    startTime: T0 + 1000,
    endTime: status === JobStatus.Running ? 0 : T0 + 5000,
    reqPerNode: { cpu: 1, memoryBytes: 1 << 30, gres: { gpu: 1 } },
    allocPerNode: { cpu: 1, memoryBytes: 1 << 30, gres: {} },
    podMeta: { name, network: 0, userns: true, ports: [{ hostPort: 8080, containerPort: 80, protocol: "TCP", hostIp: "" }], dnsServers: [] },
    steps: [
      StepInfo.fromPartial({ jobId, stepId: 0, status, type: JobType.Container, nodes: ["n1"] }),
      StepInfo.fromPartial({
        jobId,
        stepId: 1,
        name,
        status,
        type: JobType.Container,
        nodes: ["n1"],
        submitTime: T0,
        startTime: T0 + 1000,
        containerIds: { n1: "abc" },
        containerMeta: {
          image: { image: "docker.io/library/busybox:latest", pullPolicy: "", serverAddress: "docker.io", username: "u", password: "secret" },
          name,
          command: ["sleep"],
          args: ["60"],
          workdir: "",
          env: { FOO: "1" },
          mounts: [{ hostPath: "/tmp", containerPath: "/data", readonly: false }],
          tty: false,
          stdin: false,
          stdinOnce: false,
          detached: true,
        },
      }),
    ],
  });
}
