import { Flags } from "@oclif/core";
import fs from "node:fs";
import { CraneCommand } from "../core/cli/base";
import { LOCAL_CLUSTER_DIR } from "../core/config";
import { down, purge } from "../core/local-cluster";

export default class Down extends CraneCommand {
  static override summary = "Stop the local cluster started by 'crane up'";
  static override flags = {
    dir: Flags.string({ description: "State directory of the local cluster", default: LOCAL_CLUSTER_DIR }),
    purge: Flags.boolean({ description: "Also end every step still running and delete all state (jobs, logs)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Down);
    const stopped = await down(flags.dir);
    if (flags.purge) {
      await purge(flags.dir);
      fs.rmSync(flags.dir, { recursive: true, force: true });
    }
    this.log(stopped ? "Local cluster stopped." : "No local cluster is running.");
  }
}
