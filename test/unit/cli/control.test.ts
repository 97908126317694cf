import { describe, expect, it } from "vitest";
import { parseJobIds, parseUpdate } from "../../../src/core/cli/control";

describe("ccontrol arguments", () => {
  it("reads update job in both forms, keys in any case", () => {
    const a = parseUpdate(["job", "12", "TimeLimit=1:00:00", "priority=7", "Partition=GPU", "NodeList=cn[1-2]"]);
    const b = parseUpdate(["JobId=12", "timelimit=60", "PRIORITY=7", "partition=GPU", "nodelist=cn1,cn2"]);
    for (const r of [a, b]) {
      expect(r).toMatchObject({ job: { jobIds: [12], setTimeLimit: true, timeLimitSeconds: 3600, setPriority: true, priority: 7, partition: "GPU" } });
      expect("job" in r && r.job.nodelist).toEqual(["cn1", "cn2"]);
    }
    expect(parseUpdate(["job", "3", "NodeList="])).toMatchObject({ job: { setNodelist: true, nodelist: [] } });
  });

  it("reads update node with a host list and a reason containing '='", () => {
    expect(parseUpdate(["node", "cn[1-3]", "State=DRAIN", "Reason=a=b c"])).toEqual({
      node: { nodes: ["cn1", "cn2", "cn3"], state: "drain", reason: "a=b c" },
    });
    expect(parseUpdate(["NodeName=cn1", "State=resume"])).toEqual({ node: { nodes: ["cn1"], state: "resume", reason: "" } });
  });

  it("refuses what it cannot read, naming it", () => {
    expect(() => parseUpdate(["job", "12"])).toThrow(/nothing to change/);
    expect(() => parseUpdate(["job", "12", "Colour=red"])).toThrow(/unknown key "Colour"/);
    expect(() => parseUpdate(["job", "12", "TimeLimit=soon"])).toThrow(/soon/);
    expect(() => parseUpdate(["job", "12", "Priority=-1"])).toThrow(/Priority must be a whole number/);
    expect(() => parseUpdate(["job", "12", "TimeLimit=1", "timelimit=2"])).toThrow(/given twice/);
    expect(() => parseUpdate(["node", "cn1", "State=drain"])).toThrow(/needs a reason/);
    expect(() => parseUpdate(["node", "cn1", "State=up"])).toThrow(/unknown node state/);
    expect(() => parseUpdate(["widget", "1"])).toThrow(/takes job JOBID/);
    expect(() => parseJobIds(["12.1"])).toThrow(/is a step/);
    expect(parseJobIds(["3", "1,3"])).toEqual([3, 1]);
  });
});
