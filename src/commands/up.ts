import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { CliError, ExitCode } from "../core/cli/errors";
import { LOCAL_CLUSTER_DIR } from "../core/config";
import { up } from "../core/local-cluster";

export default class Up extends CraneCommand {
  static override summary = "Start a local cluster (ctld + craned nodes) on this machine in the background";
  static override description = "All state, logs and the generated config live in one directory. User commands find the cluster without a config file.";
  static override examples = ["<%= config.bin %> up", "<%= config.bin %> up --nodes 2", "<%= config.bin %> up --no-containers"];
  static override flags = {
    dir: Flags.string({ description: "State directory of the local cluster", default: LOCAL_CLUSTER_DIR }),
    nodes: Flags.integer({ description: "Number of craned nodes", default: 1, min: 1, max: 64 }),
    port: Flags.integer({ description: "ctld's port; the next ports go to the internal service and the nodes", default: 10011 }),
    "runtime-endpoint": Flags.string({ description: "containerd's CRI socket", default: "/run/containerd/containerd.sock" }),
    containers: Flags.boolean({ description: "Enable container jobs", default: true, allowNo: true }),
    cpus: Flags.integer({ description: "CPUs per node (default: this machine's)" }),
    memory: Flags.string({ description: "Memory per node, e.g. 4G (default: a share of this machine's)" }),
    gpus: Flags.integer({ description: "Simulated GPUs per node (device files under the state directory)" }),
    "craned-timeout": Flags.integer({ description: "Seconds of silence before a node is marked down", default: 30 }),
    "ping-interval": Flags.integer({ description: "Seconds between node heartbeats", default: 5 }),
    "listen-addr": Flags.string({
      description: "Address ctld and the craneds listen on (callers from elsewhere still need AuthType munge)",
      default: "127.0.0.1",
    }),
    "munge-socket": Flags.string({
      description: "Identify callers by MUNGE credentials from this munged socket (AuthType munge), e.g. /run/munge/munge.socket.2",
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Up);
    try {
      const r = await up({
        dir: flags.dir,
        nodes: flags.nodes,
        port: flags.port,
        runtimeEndpoint: flags["runtime-endpoint"],
        containers: flags.containers,
        cpusPerNode: flags.cpus,
        memoryPerNode: flags.memory,
        gpusPerNode: flags.gpus,
        cranedTimeoutSeconds: flags["craned-timeout"],
        pingIntervalSeconds: flags["ping-interval"],
        listenAddr: flags["listen-addr"],
        mungeSocket: flags["munge-socket"],
      });
      this.log(
        r.alreadyRunning
          ? `A local cluster is already running (config: ${r.configFile}).`
          : `Local cluster is up with ${flags.nodes} node(s). Config: ${r.configFile}`,
      );
    } catch (e) {
      throw new CliError(`crane up failed: ${(e as Error).message}`, ExitCode.System);
    }
  }
}
