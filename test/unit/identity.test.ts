// The kernel's record of who owns a local connection, which ctld checks claimed uids against.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { socketOwnerUid } from "../../src/core/identity";

describe("socketOwnerUid", () => {
  it("finds the owner of a real connection made from this process", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const serverPort = (server.address() as net.AddressInfo).port;
    const client = net.connect(serverPort, "127.0.0.1");
    await new Promise<void>((r) => client.once("connect", () => r()));
    try {
      expect(socketOwnerUid(`127.0.0.1:${client.localPort}`, serverPort)).toBe(process.getuid!());
      expect(socketOwnerUid(`127.0.0.1:${client.localPort}`, serverPort + 1)).toBeUndefined();
    } finally {
      client.destroy();
      server.close();
    }
  });

  it("reads IPv4 addresses and ports as the kernel writes them, and skips other addresses", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-proc-"));
    const table = path.join(dir, "tcp");
    fs.writeFileSync(table, [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:9C40 0100007F:2EEB 01 00000000:00000000 00:00000000 00000000  1234        0 1 1 0 20 4 30 10 -1",
      "   1: 0200000A:9C41 0100000A:2EEB 01 00000000:00000000 00:00000000 00000000  1235        0 2 1 0 20 4 30 10 -1",
    ].join("\n"));
    try {
      expect(socketOwnerUid("127.0.0.1:40000", 0x2eeb, [table])).toBe(1234);
      expect(socketOwnerUid("ipv4:10.0.0.2:40001", 0x2eeb, [table])).toBe(1235);
      expect(socketOwnerUid("10.0.0.3:40001", 0x2eeb, [table])).toBeUndefined();
      expect(socketOwnerUid("[::ffff:127.0.0.1]:40000", 0x2eeb, [table])).toBe(1234);
      expect(socketOwnerUid("not a peer", 0x2eeb, [table])).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
