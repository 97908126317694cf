// The CLI's unary gRPC client (src/core/rpc/unary-client.ts) against a real grpc-js server, and its method table
// against the generated service definition.
import * as grpc from "@grpc/grpc-js";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelJobRequest, QueryClusterReply, QueryClusterRequest, QueryJobsRequest, type CancelJobReply } from "../../../src/core/generated/crane/crane";
import { CraneCtldService } from "../../../src/core/generated/crane/services";
import { bindServer, newServer } from "../../../src/core/rpc";
import { CTLD_UNARY } from "../../../src/core/rpc/ctld-unary";
import { GrpcStatus, grpcErrorSuffix } from "../../../src/core/rpc/status";
import { RpcError, UnaryClient } from "../../../src/core/rpc/unary-client";

describe("CTLD_UNARY", () => {
  it("has every unary method of CraneCtld, with its path and message types, and nothing else", () => {
    const unaryMethods = Object.entries(CraneCtldService).filter(([, m]) => !m.requestStream && !m.responseStream);
    expect(Object.keys(CTLD_UNARY).sort()).toEqual(unaryMethods.map(([name]) => name).sort());
    for (const [name, m] of unaryMethods) {
      const entry = CTLD_UNARY[name as keyof typeof CTLD_UNARY];
      expect(entry.path, name).toBe(m.path);
      // Each message type decodes nothing into its own default message: another type would have other fields.
      expect(entry.request.decode(new Uint8Array()), name).toEqual(m.requestDeserialize(Buffer.alloc(0)));
      expect(entry.reply.decode(new Uint8Array()), name).toEqual(m.responseDeserialize(Buffer.alloc(0)));
    }
  });
});

describe("UnaryClient", () => {
  let server: grpc.Server;
  let port: number;
  let seenMetadata: grpc.Metadata | undefined;

  beforeAll(async () => {
    server = newServer();
    const unimplemented = () => {};
    server.addService(CraneCtldService, {
      queryClusterInfo: (call: grpc.ServerUnaryCall<QueryClusterRequest, QueryClusterReply>, cb: grpc.sendUnaryData<QueryClusterReply>) => {
        seenMetadata = call.metadata;
        cb(null, QueryClusterReply.fromPartial({ partitions: call.request.partitions.map((name) => ({ name, priority: 7 })) }));
      },
      cancelJob: (_call: unknown, cb: grpc.sendUnaryData<CancelJobReply>) => cb({ code: grpc.status.PERMISSION_DENIED, details: "refusé: 100% sûr" }, null),
      // Never answers: the client's deadline ends the call.
      queryJobsInfo: unimplemented,
    });
    port = await bindServer(server, "127.0.0.1:0");
  });
  afterAll(() => server.forceShutdown());

  it("sends the request with the metadata it is given and decodes the reply", async () => {
    const client = new UnaryClient("127.0.0.1", port, async () => ({ "x-crane-munge": "cred-1" }));
    try {
      const reply = await client.call(CTLD_UNARY.queryClusterInfo, QueryClusterRequest.fromPartial({ partitions: ["gpu", "cpu"] }));
      expect(reply.partitions.map((p) => [p.name, p.priority])).toEqual([
        ["gpu", 7],
        ["cpu", 7],
      ]);
      expect(seenMetadata?.get("x-crane-munge")).toEqual(["cred-1"]);
      // A second call on the same connection.
      const again = await client.call(CTLD_UNARY.queryClusterInfo, QueryClusterRequest.fromPartial({ partitions: ["x"] }));
      expect(again.partitions[0]?.name).toBe("x");
    } finally {
      client.close();
    }
  });

  it("carries requests and replies of megabytes (many frames, beyond the initial flow-control windows), many at once", async () => {
    const client = new UnaryClient("127.0.0.1", port);
    try {
      const names = Array.from({ length: 40_000 }, (_, i) => `partition-${i}-${"p".repeat(64)}`); // ~3 MB each way
      const [big, ...small] = await Promise.all([
        client.call(CTLD_UNARY.queryClusterInfo, QueryClusterRequest.fromPartial({ partitions: names })),
        ...Array.from({ length: 20 }, (_, i) => client.call(CTLD_UNARY.queryClusterInfo, QueryClusterRequest.fromPartial({ partitions: [`p${i}`] }))),
      ]);
      expect(big.partitions.map((p) => p.name)).toEqual(names);
      expect(small.map((r) => r.partitions[0]?.name)).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
    } finally {
      client.close();
    }
  });

  it("rejects with the server's status and its percent-decoded message", async () => {
    const client = new UnaryClient("127.0.0.1", port);
    try {
      const e = await client.call(CTLD_UNARY.cancelJob, CancelJobRequest.fromPartial({})).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RpcError);
      expect(e).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED, details: "refusé: 100% sûr" });
      expect(grpcErrorSuffix(e)).toBe("gRPC error code PERMISSION_DENIED: refusé: 100% sûr");
    } finally {
      client.close();
    }
  });

  it("answers UNIMPLEMENTED for a method the server does not have (a trailers-only reply)", async () => {
    const client = new UnaryClient("127.0.0.1", port);
    try {
      const bogus = { ...CTLD_UNARY.queryClusterInfo, path: "/crane.grpc.CraneCtld/NoSuchMethod" };
      await expect(client.call(bogus, QueryClusterRequest.fromPartial({}))).rejects.toMatchObject({ code: GrpcStatus.UNIMPLEMENTED });
    } finally {
      client.close();
    }
  });

  it("ends a call that gets no reply at its deadline", async () => {
    const client = new UnaryClient("127.0.0.1", port);
    try {
      const t0 = performance.now();
      const e = await client.call(CTLD_UNARY.queryJobsInfo, QueryJobsRequest.fromPartial({}), 300).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      expect(grpcErrorSuffix(e)).toMatch(/^Request timeout/);
    } finally {
      client.close();
    }
  });

  it("answers UNAVAILABLE when nothing listens, and for a server that is not gRPC", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const nobody = new UnaryClient("127.0.0.1", closedPort);
    const e = await nobody.call(CTLD_UNARY.queryClusterInfo, QueryClusterRequest.fromPartial({})).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    expect(grpcErrorSuffix(e)).toBe("Connection to CraneCtld is broken.");

    // A server that answers in plain text and hangs up: no status ever comes.
    const plain = net.createServer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const wrong = new UnaryClient("127.0.0.1", (plain.address() as net.AddressInfo).port);
      await expect(wrong.call(CTLD_UNARY.queryClusterInfo, QueryClusterRequest.fromPartial({}), 5000)).rejects.toMatchObject({
        code: GrpcStatus.UNAVAILABLE,
      });
    } finally {
      plain.close();
    }
  });
});
