// `crane ctld`: the control daemon. Loads the config and the database, then serves user commands
// (public port) and craneds (internal port) until SIGTERM/SIGINT.
import fs from "node:fs";
import path from "node:path";
import type { CraneConfig } from "../../core/config";
import { CraneCtldForInternalService, CraneCtldService } from "../../core/generated/crane/services";
import { loadOrCreateClusterKey } from "../../core/auth/cluster-key";
import { requireNodeKey } from "../../core/auth/node-credential";
import { createLogger } from "../../core/log";
import { bindServer, newServer, safeHandlers } from "../../core/rpc";
import { JobManager } from "./job-manager";
import { NodeRegistry } from "./nodes";
import { internalService, publicService } from "./service";
import { JobStore } from "./store";
import { WatchHub } from "./watch";
import { publicMaxReceiveBytes } from "./limits";
import { CtldMetrics, jobManagerSource, serveMetrics } from "./metrics";

export interface CtldHandle {
  publicPort: number;
  internalPort: number;
  stop(): Promise<void>;
}

export async function runCtld(config: CraneConfig): Promise<CtldHandle> {
  const log = createLogger("ctld");
  fs.mkdirSync(config.ctldStateDir, { recursive: true });
  const store = new JobStore(config.ctldStateDir);
  store.startRetention(config.jobHistoryRetentionDays, (n) => log.info(`deleted ${n} jobs that ended over CraneCtld.JobHistoryRetentionDays ago`));
  const clusterKey = loadOrCreateClusterKey(config.clusterKeyFile);
  const nodes = new NodeRegistry(config, clusterKey);
  const jm = new JobManager(config, store, nodes, log);
  const watch = new WatchHub(jm, log);
  jm.changes = watch;

  const publicServer = newServer({ "grpc.max_receive_message_length": publicMaxReceiveBytes(config.limits) });
  publicServer.addService(CraneCtldService, safeHandlers(publicService(jm, log, watch), log.error));
  const internalServer = newServer();
  const authenticateNode = requireNodeKey((n) => nodes.keyOf(n), "is for crane's node daemons only: the call carries no node key, or not that node's");
  internalServer.addService(CraneCtldForInternalService, safeHandlers(internalService(jm, log), log.error, { authenticate: authenticateNode }));
  const publicPort = await bindServer(publicServer, `${config.ctldListenAddr}:${config.ctldPort}`);
  const internalPort = await bindServer(internalServer, `${config.ctldListenAddr}:${config.ctldInternalPort}`);
  const metrics = new CtldMetrics(jobManagerSource(jm));
  jm.metrics = metrics;
  const metricsServer = config.metricsPort ? await serveMetrics(metrics, config.metricsListenAddr, config.metricsPort, log) : undefined;
  jm.start();
  fs.writeFileSync(path.join(config.ctldStateDir, "ctld.pid"), String(process.pid));
  log.info(`listening on ${config.ctldListenAddr}:${publicPort} (users) and :${internalPort} (nodes); state in ${config.ctldStateDir}`);

  return {
    publicPort,
    internalPort,
    async stop() {
      jm.stop();
      watch.closeAll();
      await metricsServer?.close();
      await Promise.all([new Promise<void>((r) => publicServer.tryShutdown(() => r())), new Promise<void>((r) => internalServer.tryShutdown(() => r()))]);
      nodes.close();
      store.close();
    },
  };
}
