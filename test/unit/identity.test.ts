// The kernel's record of who owns a local connection (ctld's AuthType local) and the name-service lookups.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { groupsOf, parsePeer, socketOwnerUid, userByName, userByUid } from "../../src/core/identity";

describe("socketOwnerUid", () => {
  it("finds the owner of a real connection made from this process, and nothing for another server port", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const serverPort = (server.address() as net.AddressInfo).port;
    const client = net.connect(serverPort, "127.0.0.1");
    await new Promise<void>((r) => client.once("connect", () => r()));
    try {
      const ends = { peerAddress: "127.0.0.1", peerPort: client.localPort!, serverPort };
      expect(socketOwnerUid(ends)).toBe(process.getuid!());
      expect(socketOwnerUid({ ...ends, serverPort: serverPort + 1 })).toBeUndefined();
      expect(socketOwnerUid({ ...ends, peerAddress: "10.213.0.2" })).toBeUndefined();
    } finally {
      client.destroy();
      server.close();
    }
  });

  const row = (sl: number, local: string, remote: string, uid: number) =>
    `   ${sl}: ${local} ${remote} 01 00000000:00000000 00:00000000 00000000  ${uid}        0 ${sl + 1} 1 0 20 4 30 10 -1`;
  const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

  function withTable(rows: string[], check: (table: string) => void) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-proc-"));
    const table = path.join(dir, "tcp");
    fs.writeFileSync(table, [header, ...rows].join("\n"));
    try {
      check(table);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("matches the client's address as well as its port, as the kernel writes them", () => {
    withTable([row(0, "0100007F:9C40", "0100007F:2EEB", 1234), row(1, "0200000A:9C41", "0100000A:2EEB", 1235)], (table) => {
      const at = (peerAddress: string, peerPort: number) => socketOwnerUid({ peerAddress, peerPort, serverPort: 0x2eeb }, [table]);
      expect(at("127.0.0.1", 40000)).toBe(1234);
      expect(at("10.0.0.2", 40001)).toBe(1235);
      expect(at("::ffff:127.0.0.1", 40000)).toBe(1234);
      // Same port, another address: a container or another host using the port of a local socket.
      expect(at("10.0.0.3", 40001)).toBeUndefined();
      expect(at("10.0.0.2", 40000)).toBeUndefined();
    });
  });

  it("refuses a connection that two sockets of different owners could be", () => {
    withTable([row(0, "0100007F:9C40", "0100007F:2EEB", 1234), row(1, "0100007F:9C40", "0200007F:2EEB", 0)], (table) => {
      expect(socketOwnerUid({ peerAddress: "127.0.0.1", peerPort: 40000, serverPort: 0x2eeb }, [table])).toBeUndefined();
    });
  });

  it("reads IPv6 rows", () => {
    // ::1 as /proc/net/tcp6 writes it: four little-endian 32-bit words.
    withTable([row(0, "00000000000000000000000001000000:9C40", "00000000000000000000000001000000:2EEB", 77)], (table) => {
      expect(socketOwnerUid({ peerAddress: "::1", peerPort: 40000, serverPort: 0x2eeb }, [table])).toBe(77);
      expect(socketOwnerUid({ peerAddress: "::2", peerPort: 40000, serverPort: 0x2eeb }, [table])).toBeUndefined();
    });
  });

  it("parses grpc's peer forms and nothing else", () => {
    expect(parsePeer("ipv4:127.0.0.1:5000")).toEqual({ address: "127.0.0.1", port: 5000 });
    expect(parsePeer("[::1]:5000")).toEqual({ address: "::1", port: 5000 });
    expect(parsePeer("unknown")).toBeUndefined();
    expect(parsePeer("unix:/run/x.sock")).toBeUndefined();
  });
});

describe("name service lookups", () => {
  it("resolves root by uid and by name, with its groups", () => {
    expect(userByUid(0)).toMatchObject({ name: "root", uid: 0, gid: 0 });
    expect(userByName("root")).toMatchObject({ uid: 0 });
    expect(groupsOf(userByUid(0)!)[0]).toBe(0);
  });

  it("finds nothing for a uid without an account or a name that is no user name", () => {
    expect(userByUid(3_999_999_999)).toBeUndefined();
    expect(userByName("--help")).toBeUndefined();
    expect(userByName("no such user")).toBeUndefined();
  });
});
