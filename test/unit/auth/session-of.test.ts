// ctld keeps a local caller's uid per connection (caller.ts): sessionOf must find the connection of a call through
// grpc-js' call objects, the same one for every call of a client and another one for another client.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionOf } from "../../../src/core/auth/caller";
import { CraneCtldClient, CraneCtldService, type CraneCtldServer } from "../../../src/core/generated/crane/services";
import { bindServer, unary } from "../../../src/core/rpc";

describe("sessionOf", () => {
  const seen: (object | undefined)[] = [];
  let server: grpc.Server;
  let port: number;

  beforeAll(async () => {
    server = new grpc.Server();
    const impl: Partial<CraneCtldServer> = {
      queryClusterInfo(call, cb) {
        seen.push(sessionOf(call));
        cb(null, { ok: true, partitions: [], nodes: [] } as never);
      },
    };
    server.addService(CraneCtldService, impl as CraneCtldServer);
    port = await bindServer(server, "127.0.0.1:0");
  });

  afterAll(() => server.forceShutdown());

  it("finds one session per connection", async () => {
    // Each with its own subchannel pool, so each opens its own connection (clients of one process share one otherwise).
    const client = () => new CraneCtldClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    const a = client();
    const b = client();
    const req = { partitions: [], nodes: [], states: [] };
    await unary(a, a.queryClusterInfo, req);
    await unary(a, a.queryClusterInfo, req);
    await unary(b, b.queryClusterInfo, req);
    a.close();
    b.close();
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBeTypeOf("object");
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).not.toBe(seen[0]);
  });
});
