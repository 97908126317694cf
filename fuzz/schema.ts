// crane's services and messages as the fuzzer sees them: read from proto/crane/services.proto (and the crane.proto it imports) at run time (so a new
// method or field is fuzzed without touching the fuzzer), reduced to what a request generator needs.
import * as protoLoader from "@grpc/proto-loader";
import path from "node:path";

const PROTO_ROOT = path.resolve(__dirname, "..", "proto");
export const PROTO_FILE = path.join(PROTO_ROOT, "crane", "services.proto");
const PACKAGE = "crane.grpc";

/** The services a daemon serves on a TCP port, and which daemon: the Supervisor's unix socket is not public. */
export const PUBLIC_SERVICES = { CraneCtld: "ctld", CraneCtldForInternal: "ctld-internal", Craned: "craned" } as const;
export type ServiceName = keyof typeof PUBLIC_SERVICES;
export type Endpoint = (typeof PUBLIC_SERVICES)[ServiceName];

export type ScalarKind =
  | "double"
  | "float"
  | "int64"
  | "uint64"
  | "int32"
  | "fixed64"
  | "fixed32"
  | "bool"
  | "string"
  | "bytes"
  | "uint32"
  | "sfixed32"
  | "sfixed64"
  | "sint32"
  | "sint64";

export interface FieldSchema {
  name: string;
  number: number;
  repeated: boolean;
  kind: ScalarKind | "enum" | "message";
  /** For kind "enum": the declared values. */
  enumValues: number[];
  /** For kind "message": the message's schema (resolved lazily: messages may refer to each other). */
  message?: () => MessageSchema;
}

export interface MessageSchema {
  name: string;
  fields: FieldSchema[];
  /** A map<K, V> entry message: `fields` are key (1) and value (2). */
  mapEntry: boolean;
}

export interface MethodSchema {
  service: ServiceName;
  name: string;
  /** "Service/Method", how reports and flags name it. */
  id: string;
  path: string;
  endpoint: Endpoint;
  serverStream: boolean;
  clientStream: boolean;
  request: MessageSchema;
}

interface DescriptorField {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface DescriptorEnum {
  name: string;
  value: { number: number }[];
}
interface DescriptorMessage {
  name: string;
  field: DescriptorField[];
  nestedType: DescriptorMessage[];
  enumType: DescriptorEnum[];
  options: { mapEntry?: boolean } | null;
}

export function loadMethods(): MethodSchema[] {
  const definition = protoLoader.loadSync(PROTO_FILE, { includeDirs: [PROTO_ROOT] });
  const messages = new Map<string, MessageSchema>();

  const resolve = (scope: DescriptorMessage[], typeName: string): { message?: DescriptorMessage; enumType?: DescriptorEnum } => {
    const name = typeName.replace(/^\./, "").replace(`${PACKAGE}.`, "");
    for (const outer of [...scope].reverse()) {
      const nested = outer.nestedType.find((m) => m.name === name);
      if (nested) return { message: nested };
      const e = outer.enumType.find((x) => x.name === name);
      if (e) return { enumType: e };
    }
    const top = definition[`${PACKAGE}.${name}`] as { type?: DescriptorMessage | DescriptorEnum } | undefined;
    if (top?.type && "field" in top.type) return { message: top.type };
    if (top?.type && "value" in top.type) return { enumType: top.type };
    throw new Error(`${typeName} is not in ${PROTO_FILE}`);
  };

  const messageSchema = (descriptor: DescriptorMessage, scope: DescriptorMessage[]): MessageSchema => {
    const key = [...scope.map((s) => s.name), descriptor.name].join(".");
    const known = messages.get(key);
    if (known) return known;
    const schema: MessageSchema = { name: key, fields: [], mapEntry: descriptor.options?.mapEntry === true };
    messages.set(key, schema);
    const inner = [...scope, descriptor];
    for (const f of descriptor.field) {
      const kind = f.type.replace(/^TYPE_/, "").toLowerCase();
      const field: FieldSchema = { name: f.name, number: f.number, repeated: f.label === "LABEL_REPEATED", kind: kind as FieldSchema["kind"], enumValues: [] };
      if (kind === "enum") field.enumValues = resolve(inner, f.typeName).enumType!.value.map((v) => v.number);
      else if (kind === "message") {
        const target = resolve(inner, f.typeName).message!;
        const targetScope = descriptor.nestedType.includes(target) ? inner : [];
        field.message = () => messageSchema(target, targetScope);
      } else if (kind === "group") throw new Error(`${key}.${f.name}: groups are not supported`);
      schema.fields.push(field);
    }
    return schema;
  };

  const methods: MethodSchema[] = [];
  for (const [service, endpoint] of Object.entries(PUBLIC_SERVICES) as [ServiceName, Endpoint][]) {
    const svc = definition[`${PACKAGE}.${service}`] as Record<string, protoLoader.MethodDefinition<object, object>> | undefined;
    if (!svc) throw new Error(`service ${service} is not in ${PROTO_FILE}`);
    for (const [name, m] of Object.entries(svc)) {
      methods.push({
        service,
        name,
        id: `${service}/${name}`,
        path: m.path,
        endpoint,
        serverStream: m.responseStream,
        clientStream: m.requestStream,
        request: messageSchema((m.requestType as unknown as { type: DescriptorMessage }).type, []),
      });
    }
  }
  return methods;
}
