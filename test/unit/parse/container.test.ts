import { describe, it, expect } from "vitest";
import {
  normaliseImageRef,
  normaliseRegistryServer,
  parseEnvAssignment,
  parsePortMapping,
  parseUserSpec,
  parseVolume,
  validateIpv4,
} from "../../../src/core/parse/container.js";
import { ParseError } from "../../../src/core/parse/errors.js";

const SHA = "sha256:" + "a".repeat(64);

describe("normaliseImageRef", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest", "docker.io"],
    ["alpine:3.19", "docker.io/library/alpine:3.19", "docker.io"],
    ["user/x", "docker.io/user/x:latest", "docker.io"],
    ["docker.io/busybox", "docker.io/library/busybox:latest", "docker.io"],
    ["index.docker.io/user/x:1", "docker.io/user/x:1", "docker.io"],
    ["host:5000/x", "host:5000/x:latest", "host:5000"],
    ["host:5000/team/x:v1.2", "host:5000/team/x:v1.2", "host:5000"],
    ["localhost/x", "localhost/x:latest", "localhost"],
    ["ghcr.io/org/app_name__v2-x:tag", "ghcr.io/org/app_name__v2-x:tag", "ghcr.io"],
    [`busybox@${SHA}`, `docker.io/library/busybox@${SHA}`, "docker.io"],
    [`busybox:1.36@${SHA}`, `docker.io/library/busybox@${SHA}`, "docker.io"],
    ["  busybox  ", "docker.io/library/busybox:latest", "docker.io"],
  ])("normalises %s", (ref, image, domain) => {
    expect(normaliseImageRef(ref)).toEqual({ image, domain });
  });

  it.each(["BusyBox", "user/MyApp", "ghcr.io/Org/app"])("rejects the upper-case repository %s", (ref) => {
    expect(() => normaliseImageRef(ref)).toThrow(ParseError);
    expect(() => normaliseImageRef(ref)).toThrow(`invalid image reference '${ref}': repository name must be lowercase`);
  });

  it.each([
    ["", "the image name is empty"],
    ["a".repeat(64), "a 64-character hex string is an image ID"],
    ["busybox@sha256:abc", "invalid digest 'sha256:abc'"],
    ["busybox@md5", "invalid digest"],
    ["busybox:-bad", "invalid tag '-bad'"],
    ["busybox:", "invalid tag ''"],
    ["bad..name", "invalid reference format"],
    ["user//x", "invalid reference format"],
    ["-x/y", "invalid reference format"],
    ["bad_host.:5000/x", "invalid registry host 'bad_host.:5000'"],
    ["x/" + "a".repeat(300), "repository name must not be more than 255 characters"],
  ])("rejects %j", (ref, why) => {
    expect(() => normaliseImageRef(ref)).toThrow(`invalid image reference '${ref}': ${why}`);
  });
});

describe("parsePortMapping", () => {
  it("parses PORT, HOST:CONTAINER and a protocol", () => {
    expect(parsePortMapping("8080")).toEqual({ hostPort: 8080, containerPort: 8080, protocol: "TCP" });
    expect(parsePortMapping("80:8080")).toEqual({ hostPort: 80, containerPort: 8080, protocol: "TCP" });
    expect(parsePortMapping("53:53/udp")).toEqual({ hostPort: 53, containerPort: 53, protocol: "UDP" });
    expect(parsePortMapping("1/TCP")).toEqual({ hostPort: 1, containerPort: 1, protocol: "TCP" });
    expect(parsePortMapping("65535:1")).toEqual({ hostPort: 65535, containerPort: 1, protocol: "TCP" });
  });

  it.each([
    ["abc", "invalid port number: 'abc' is not a number"],
    ["", "invalid port number: '' is not a number"],
    ["x:80", "invalid host port: 'x' is not a number"],
    ["80:", "invalid container port: '' is not a number"],
    ["0:80", "invalid host port 0: must be between 1 and 65535"],
    ["80:70000", "invalid container port 70000: must be between 1 and 65535"],
    ["0", "invalid container port 0: must be between 1 and 65535"],
    ["1:2:3", "too many ':' separators"],
    ["80/sctp", "unsupported protocol 'sctp'"],
  ])("rejects %j", (spec, why) => {
    expect(() => parsePortMapping(spec)).toThrow(ParseError);
    expect(() => parsePortMapping(spec)).toThrow(`invalid port mapping '${spec}': ${why}`);
  });
});

describe("parseVolume", () => {
  it("parses HOST:CONTAINER with an optional mode", () => {
    expect(parseVolume("/data:/mnt")).toEqual({ hostPath: "/data", containerPath: "/mnt", readonly: false });
    expect(parseVolume("/data:/mnt:ro")).toEqual({ hostPath: "/data", containerPath: "/mnt", readonly: true });
    expect(parseVolume("/data:/mnt:rw")).toEqual({ hostPath: "/data", containerPath: "/mnt", readonly: false });
  });

  it.each([":/mnt", "/data:", "/data::ro"])("rejects the empty path in %j", (spec) => {
    expect(() => parseVolume(spec)).toThrow(`host path and container path cannot be empty: '${spec}'`);
  });

  it.each([
    ["/data", "expected two paths separated by ':'"],
    ["/a:/b:ro:x", "expected two paths separated by ':'"],
    ["/a:/b:rx", "unknown mode 'rx'"],
    ["data:/mnt", "host path 'data' must be absolute"],
    ["/data:mnt", "container path 'mnt' must be absolute"],
  ])("rejects %j", (spec, why) => {
    expect(() => parseVolume(spec)).toThrow(`invalid volume '${spec}': ${why}`);
  });
});

describe("parseUserSpec", () => {
  it("parses UID and UID:GID", () => {
    expect(parseUserSpec("1000")).toEqual({ uid: 1000 });
    expect(parseUserSpec("1000:100")).toEqual({ uid: 1000, gid: 100 });
    expect(parseUserSpec("0:0")).toEqual({ uid: 0, gid: 0 });
  });

  it("leaves the GID out when only a UID is given", () => {
    expect(parseUserSpec("1000").gid).toBeUndefined();
  });

  it.each(["alice", "", "-1", "1:2:3", "4294967296"])("rejects the UID in %j", (spec) => {
    expect(() => parseUserSpec(spec)).toThrow(`invalid user specification '${spec}': user name resolution not supported, please provide a numeric UID`);
  });

  it.each(["1000:staff", "1000:"])("rejects the GID in %j", (spec) => {
    expect(() => parseUserSpec(spec)).toThrow(`invalid user specification '${spec}': group name resolution not supported, please provide a numeric GID`);
  });
});

describe("parseEnvAssignment", () => {
  it("splits at the first =", () => {
    expect(parseEnvAssignment("A=1")).toEqual(["A", "1"]);
    expect(parseEnvAssignment("A=x=y")).toEqual(["A", "x=y"]);
    expect(parseEnvAssignment("A=")).toEqual(["A", ""]);
  });

  it("takes a bare name's value from the environment, like Docker", () => {
    expect(parseEnvAssignment("HOME_DIR", { HOME_DIR: "/home/a" })).toEqual(["HOME_DIR", "/home/a"]);
    expect(parseEnvAssignment("UNSET_VAR", {})).toEqual(["UNSET_VAR", ""]);
  });

  it("uses process.env by default", () => {
    process.env.CRANE_PARSE_TEST_VAR = "from-env";
    try {
      expect(parseEnvAssignment("CRANE_PARSE_TEST_VAR")).toEqual(["CRANE_PARSE_TEST_VAR", "from-env"]);
    } finally {
      delete process.env.CRANE_PARSE_TEST_VAR;
    }
  });

  it.each(["=1", "", " =x"])("rejects the empty name in %j", (spec) => {
    expect(() => parseEnvAssignment(spec)).toThrow(`invalid environment variable '${spec}': the name is empty`);
  });
});

describe("validateIpv4", () => {
  it.each(["8.8.8.8", "0.0.0.0", "255.255.255.255", "10.0.12.1"])("accepts %s", (ip) => {
    expect(() => validateIpv4(ip)).not.toThrow();
  });

  it.each(["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", " 1.2.3.4", "::1"])("rejects %j", (ip) => {
    expect(() => validateIpv4(ip)).toThrow(ParseError);
    expect(() => validateIpv4(ip)).toThrow(`Invalid ipv4 format: ${ip} (`);
  });
});

describe("normaliseRegistryServer", () => {
  it.each([
    ["registry.example.com", "registry.example.com"],
    ["  Registry.Example.COM:5000/ ", "registry.example.com:5000"],
    ["https://registry.example.com", "registry.example.com"],
    ["https://Registry.example.com:8443/", "registry.example.com:8443"],
    ["http://localhost:5000", "localhost:5000"],
    ["index.docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["https://index.docker.io/", "docker.io"],
    ["docker.io", "docker.io"],
  ])("normalises %j to %s", (input, server) => {
    expect(normaliseRegistryServer(input)).toBe(server);
  });

  it("requires a server", () => {
    expect(() => normaliseRegistryServer("  ")).toThrow(/^registry server is required/);
  });

  it.each([
    "https://",
    "https://user:pw@registry.example.com",
    "https://registry.example.com/v2",
    "https://registry.example.com?x=1",
    "https://registry.example.com#frag",
    "registry.example.com/team",
    "reg istry.example.com",
    "://registry.example.com",
  ])("rejects %j", (input) => {
    expect(() => normaliseRegistryServer(input)).toThrow(ParseError);
    expect(() => normaliseRegistryServer(input)).toThrow(`invalid registry server: ${input} (`);
  });
});
