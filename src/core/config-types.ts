// What the Nodes, Partitions and Container sections of the configuration become once parsed (config.ts parses;
// importers take these types from config.ts, which re-exports them).

export interface GresConfig {
  name: string;
  type: string; // "" when untyped
  count: number;
  deviceFiles: string[];
}

export interface NodeConfig {
  name: string;
  /** Where ctld dials this node's craned: from the config only, never from what a node says. */
  address: string;
  port: number;
  cpu: number;
  memoryBytes: number;
  gres: GresConfig[];
}

export interface PartitionConfig {
  name: string;
  nodes: string[];
  priority: number;
  defaultMemPerCpuBytes: number; // 0 = derive from nodes
  defaultMemPerNodeBytes: number; // 0 = unset
  maxMemPerNodeBytes: number; // 0 = unlimited
  maxTimeSeconds: number; // 0 = unlimited
}

export interface ContainerConfig {
  enabled: boolean;
  runtimeEndpoint: string;
  imageEndpoint: string;
  userNsEnabledByDefault: boolean;
  imagePullTimeoutSeconds: number;
  dnsServers: string[];
  dnsSearches: string[];
  clusterDomain: string;
  /** First host id of the user-namespace range given to "fake root" pods. */
  userNsHostIdStart: number;
  /**
   * Host directories a user's container may mount (each with everything below it); `{home}` is the user's home
   * and `{submit_dir}` the directory the job was submitted from. Root's jobs are not limited.
   */
  allowedMountPaths: string[];
}
