// The attacker harness itself: a second Unix user with its groups, "another host" in a network namespace, and the
// raw gRPC client reaching a real cluster in-process and as that user. Needs root, iproute2, setpriv, `npm run build`.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNetnsHost, createUnixUser, type NetnsHost, netnsMissingReason, rawCall, rawCallAs, runAs, type UnixUser } from "../harness/attacker";
import { binaryMissingReason, startCluster, type TestCluster } from "../harness/cluster";

const unavailable = binaryMissingReason() ?? netnsMissingReason();

describe.skipIf(unavailable)("attacker harness", () => {
  let user: UnixUser;
  let host: NetnsHost;
  let c: TestCluster;
  const root = { "x-crane-uid": "0", "x-crane-gid": "0" };

  beforeAll(async () => {
    user = createUnixUser();
    host = await createNetnsHost();
    c = await startCluster();
  });

  afterAll(async () => {
    try {
      await c?.stop();
    } finally {
      host?.cleanup();
      user?.cleanup();
    }
  });

  it("runs commands as the user, with its supplementary group, in its home", async () => {
    const r = await runAs(user, ["sh", "-c", 'id -un; id -G; pwd; echo "$HOME"']);
    expect(r.code).toBe(0);
    const [name, groups, cwd, home] = r.stdout.trim().split("\n");
    expect(name).toBe(user.name);
    expect(groups!.split(" ").map(Number).sort()).toEqual([user.gid, user.supplementaryGid].sort());
    expect([cwd, home]).toEqual([user.home, user.home]);
    expect((await runAs(user, ["sleep", "5"], { timeoutMs: 300 })).stderr).toContain("killed after 300 ms");
  });

  it("reaches a server here from the other host, coming from its own address and no further", async () => {
    const seen: string[] = [];
    const server = net.createServer((s) => {
      seen.push(s.remoteAddress!);
      s.end(s.remoteAddress ?? "");
    });
    await new Promise<void>((r) => server.listen(0, "0.0.0.0", r));
    const port = (server.address() as net.AddressInfo).port;
    const dial = (addr: string) =>
      host.exec(
        [
          process.execPath,
          "-e",
          `const s=require("net").connect(${port},"${addr}");s.on("data",d=>process.stdout.write(d));s.on("error",e=>{console.log(e.code);})`,
        ],
        { user, timeoutMs: 10_000 },
      );
    try {
      expect((await dial(host.hostAddress)).stdout).toBe(host.peerAddress);
      expect(seen).toEqual([host.peerAddress]);
      expect((await dial("127.0.0.1")).stdout.trim()).toBe("ECONNREFUSED"); // its loopback is its own
      const routes = (await host.exec(["ip", "-4", "route"])).stdout.trim().split("\n");
      expect(routes).toHaveLength(1);
      expect(routes[0]).toMatch(/^10\.213\.\d+\.\d+\/30 dev \S+ proto kernel scope link src /);
    } finally {
      server.close();
    }
  });

  it("calls ctld with the raw client in-process, as the user and from the other host", async () => {
    const call = { address: `127.0.0.1:${c.port}`, service: "CraneCtld", method: "QueryClusterInfo", request: {} } as const;
    const own = await rawCall({ ...call, metadata: root });
    expect(own.code, own.details).toBe(0);
    expect(own.response.nodes.map((n: { name: string }) => n.name)).toEqual(c.nodes);

    const asUser = await rawCallAs(user, undefined, { ...call, metadata: { "x-crane-uid": String(user.uid), "x-crane-gid": String(user.gid) } });
    expect(asUser).toEqual(expect.objectContaining({ code: expect.any(Number), details: expect.any(String) }));

    // `crane up` binds 127.0.0.1 only, so today this is UNAVAILABLE (14); a cluster listening on 0.0.0.0 would answer.
    const remote = await rawCallAs(user, host, { ...call, address: `${host.hostAddress}:${c.port}`, metadata: root });
    expect(remote).toEqual(expect.objectContaining({ code: expect.any(Number), details: expect.any(String) }));
  });
});
